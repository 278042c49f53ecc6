package temporalenv

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
