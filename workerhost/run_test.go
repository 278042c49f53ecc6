package workerhost

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestRunHelp: -h prints the usage once, with the flags and the
// environment, and starts nothing.
func TestRunHelp(t *testing.T) {
	var usage bytes.Buffer
	err := Run(context.Background(), []string{"-h"}, envOf(nil), &usage, t.Logf)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("Run -h = %v, want ErrHelp", err)
	}
	out := usage.String()
	for _, want := range []string{"Usage: worker", "-task-queue", EnvTaskQueue, EnvAPIKey, EnvEndpoints, "TEMPORAL_ADDRESS", "Exit codes"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Usage: worker"); n != 1 {
		t.Errorf("usage printed %d times", n)
	}
}

func TestRunBadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-task-queue", " "}} {
		err := Run(context.Background(), args, envOf(map[string]string{EnvAPIKey: "k"}), &bytes.Buffer{}, t.Logf)
		if err == nil || ExitCode(err) != 2 || strings.Contains(err.Error(), "\n") {
			t.Errorf("Run %q = %v (exit %d), want one line and exit 2", args, err, ExitCode(err))
		}
	}
}

// TestRunUnreachableTemporalExit2: like the starter, an unreachable
// Temporal server is exit 2, with no starter flag in the advice.
func TestRunUnreachableTemporalExit2(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv("TEMPORAL_PROFILE", "")
	err := Run(context.Background(), []string{"-task-queue", "q"}, envOf(map[string]string{EnvAPIKey: "k"}), &bytes.Buffer{}, t.Logf)
	if err == nil || ExitCode(err) != 2 {
		t.Fatalf("Run against a closed port = %v (exit %d), want exit 2", err, ExitCode(err))
	}
	if msg := err.Error(); !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "-dev") {
		t.Errorf("error %q: want the address, and no -dev (a starter flag)", msg)
	}
}
