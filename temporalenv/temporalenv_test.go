package temporalenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/codec"
)

func TestOptionsFromEnvironment(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "team-a")
	o, err := Options("", QuietLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if o.HostPort != "temporal.example:7233" || o.Namespace != "team-a" {
		t.Errorf("got %s/%s, want temporal.example:7233/team-a", o.HostPort, o.Namespace)
	}
	o, err = Options("127.0.0.1:9999", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.HostPort != "127.0.0.1:9999" {
		t.Errorf("an explicit address must win over TEMPORAL_ADDRESS, got %s", o.HostPort)
	}
}

func TestOptionsDefaults(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv("TEMPORAL_ADDRESS", "")
	t.Setenv("TEMPORAL_NAMESPACE", "")
	o, err := Options("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.HostPort != "localhost:7233" || o.Namespace != "default" {
		t.Errorf("defaults: got %s/%s, want localhost:7233/default", o.HostPort, o.Namespace)
	}
}

func TestDialNamesTheAddressAndTheFix(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	o, err := Options("127.0.0.1:1", QuietLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Dial(context.Background(), o, 3*time.Second)
	if err == nil {
		t.Fatal("dialing a closed port succeeded")
	}
	for _, want := range []string{"127.0.0.1:1", "docker compose up -d", "set TEMPORAL_ADDRESS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestDialWithTEMPORAL_ADDRESSSet: an address that does not resolve says
// so, and with TEMPORAL_ADDRESS set the error asks to check it, not to set it.
func TestDialWithTEMPORAL_ADDRESSSet(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	for _, c := range []struct{ addr, want string }{
		{"no-such-host.invalid:7233", `host "no-such-host.invalid" does not resolve`},
		{"127.0.0.1:1", "and that the server is up"},
	} {
		t.Setenv("TEMPORAL_ADDRESS", c.addr)
		o, err := Options("", QuietLogger(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Dial(context.Background(), o, 3*time.Second)
		if err == nil {
			t.Fatalf("dialing %s succeeded", c.addr)
		}
		msg := err.Error()
		for _, want := range []string{c.want, "check TEMPORAL_ADDRESS (" + c.addr + ")"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q lacks %q", msg, want)
			}
		}
		if strings.Contains(msg, "set TEMPORAL_ADDRESS") || strings.Contains(msg, "no children to pick from") {
			t.Errorf("error %q tells to set TEMPORAL_ADDRESS though it is set, or shows gRPC's resolver message", msg)
		}
		var ue *UnreachableError
		if !errors.As(err, &ue) {
			t.Errorf("error %T is not an *UnreachableError", err)
		}
	}
}

func TestOptionsEncryptWithTheCodecKey(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv(codec.EnvOldKeys, "")
	t.Setenv(codec.EnvKey, "")
	plain, err := Options("", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plain.DataConverter.ToPayload("a prompt")
	if err != nil || codec.IsEncrypted(p) || string(p.GetData()) != `"a prompt"` {
		t.Fatalf("without %s: payload %v (%v), want the plain JSON", codec.EnvKey, p, err)
	}

	t.Setenv(codec.EnvKey, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, codec.KeySize)))
	enc, err := Options("", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err = enc.DataConverter.ToPayload("a prompt")
	if err != nil || !codec.IsEncrypted(p) || bytes.Contains(p.GetData(), []byte("a prompt")) {
		t.Fatalf("with %s: payload %v (%v), want it encrypted", codec.EnvKey, p, err)
	}
	if f := enc.FailureConverter.ErrorToFailure(errors.New("a prompt")); strings.Contains(f.GetMessage(), "a prompt") {
		t.Errorf("with %s: failure message %q in clear", codec.EnvKey, f.GetMessage())
	}
	var s string
	if err := enc.DataConverter.FromPayload(p, &s); err != nil || s != "a prompt" {
		t.Errorf("decode: %q, %v", s, err)
	}

	t.Setenv(codec.EnvKey, "too-short")
	_, err = Options("", nil)
	if err == nil || !strings.Contains(err.Error(), codec.EnvKey) || strings.Contains(err.Error(), "too-short") {
		t.Errorf("a bad key: %v, want an error naming %s and not quoting the key", err, codec.EnvKey)
	}
}
