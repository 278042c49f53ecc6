package workerhost

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

func TestGrpcCompression(t *testing.T) {
	for v, want := range map[string]client.GrpcCompression{
		"":       &client.GrpcCompressionNone{},
		"none":   &client.GrpcCompressionNone{},
		" Gzip ": &client.GrpcCompressionGzip{},
	} {
		got, err := GrpcCompression(envOf(map[string]string{EnvGrpcCompression: v}))
		if err != nil || got == nil {
			t.Errorf("%s=%q: %v, %v", EnvGrpcCompression, v, got, err)
			continue
		}
		if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			t.Errorf("%s=%q: %T, want %T", EnvGrpcCompression, v, got, want)
		}
	}
}

// TestRunBadGrpcCompressionExit2: an unknown compression is one line and
// exit 2, before Temporal is reached (the address here is closed).
func TestRunBadGrpcCompressionExit2(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv("TEMPORAL_PROFILE", "")
	env := envOf(map[string]string{EnvAPIKey: "k", EnvGrpcCompression: "zstd"})
	err := Run(context.Background(), []string{"-task-queue", "q"}, env, &bytes.Buffer{}, t.Logf)
	if err == nil || ExitCode(err) != 2 {
		t.Fatalf("Run with %s=zstd = %v (exit %d), want exit 2", EnvGrpcCompression, err, ExitCode(err))
	}
	if msg := err.Error(); !strings.Contains(msg, EnvGrpcCompression) || strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s, not the server", msg, EnvGrpcCompression)
	}
}
