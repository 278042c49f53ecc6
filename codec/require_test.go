package codec

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"
)

const testKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// TestRequireRefusesPlaintext: with LLMCONC_CODEC_REQUIRE=1 the worker's
// and the starter's converters refuse a payload that is not encrypted, and
// still read encrypted ones; without it, plaintext passes as before.
func TestRequireRefusesPlaintext(t *testing.T) {
	plain, err := converter.GetDefaultDataConverter().ToPayload("a prompt written by someone else")
	if err != nil {
		t.Fatal(err)
	}
	req, err := ClientConverters(env(map[string]string{EnvKey: testKeyHex, EnvRequire: "1"}))
	if err != nil {
		t.Fatal(err)
	}
	var s string
	err = req.Data.FromPayload(plain, &s)
	if _, ok := IsKeyError(err); !ok || !strings.Contains(err.Error(), EnvRequire) {
		t.Fatalf("plaintext with %s=1: got %v, want a key error naming %s", EnvRequire, err, EnvRequire)
	}
	enc, err := req.Data.ToPayload("hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Data.FromPayload(enc, &s); err != nil || s != "hello" {
		t.Fatalf("encrypted payload with %s=1: %q, %v", EnvRequire, s, err)
	}
	loose, err := ClientConverters(env(map[string]string{EnvKey: testKeyHex}))
	if err != nil {
		t.Fatal(err)
	}
	if err := loose.Data.FromPayload(plain, &s); err != nil {
		t.Fatalf("plaintext without %s: %v", EnvRequire, err)
	}
	if _, err := ClientConverters(env(map[string]string{EnvRequire: "1"})); err == nil || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("%s=1 without a key: got %v, want an error naming %s", EnvRequire, err, EnvKey)
	}
	if _, err := ClientConverters(env(map[string]string{EnvKey: testKeyHex, EnvRequire: "maybe"})); err == nil {
		t.Fatalf("%s=maybe accepted", EnvRequire)
	}
}

// TestServerRefusesOpenListenWithoutToken: a codec server on an address
// other than loopback needs a token; and it has read, write and idle
// timeouts.
func TestServerRefusesOpenListenWithoutToken(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:8234", ":8234", "192.168.1.5:8234", "[::]:8234"} {
		_, err := NewServer(ServerConfig{Listen: listen}, env(map[string]string{EnvKey: testKeyHex}))
		if err == nil || !strings.Contains(err.Error(), EnvServerToken) {
			t.Errorf("-listen %s without a token: got %v", listen, err)
		}
		if _, err := NewServer(ServerConfig{Listen: listen}, env(map[string]string{EnvKey: testKeyHex, EnvServerToken: "t0ken"})); err != nil {
			t.Errorf("-listen %s with a token: %v", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:8234", "localhost:0", "[::1]:8234"} {
		if _, err := NewServer(ServerConfig{Listen: listen}, env(map[string]string{EnvKey: testKeyHex})); err != nil {
			t.Errorf("-listen %s: %v", listen, err)
		}
	}
	srv, err := NewServer(ServerConfig{Listen: "127.0.0.1:0"}, env(map[string]string{EnvKey: testKeyHex}))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.httpServer()
	if h.ReadTimeout <= 0 || h.WriteTimeout <= 0 || h.IdleTimeout <= 0 || h.ReadHeaderTimeout <= 0 {
		t.Errorf("timeouts: read %s, write %s, idle %s, header %s: want all set", h.ReadTimeout, h.WriteTimeout, h.IdleTimeout, h.ReadHeaderTimeout)
	}
}
