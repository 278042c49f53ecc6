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
	for _, want := range []string{"127.0.0.1:1", "docker compose up -d", "-dev"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
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
