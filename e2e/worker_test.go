package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestWorkerRequiresAPIKey starts the worker binary without a usable
// OPENAI_API_KEY: it must refuse at once with one line that names the
// variable, and a non-zero exit.
func TestWorkerRequiresAPIKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
	}{
		{"unset", binEnv()},
		{"empty", binEnv("OPENAI_API_KEY=")},
		{"blank", binEnv("OPENAI_API_KEY=   ")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := startProc(t, "worker", workerBin, tt.env)
			code := p.wait(t, 30*time.Second)
			if code == 0 {
				t.Errorf("worker exited 0, want non-zero\n%s", p.output())
			}
			errLines := lines(p.stderr.String())
			if len(errLines) != 1 || !strings.Contains(errLines[0], "OPENAI_API_KEY") {
				t.Errorf("stderr: want one line naming OPENAI_API_KEY, got %d lines:\n%s", len(errLines), p.stderr.String())
			}
			if s := p.stderr.String(); strings.Contains(s, "goroutine ") || strings.Contains(s, "panic") {
				t.Errorf("stderr holds a stack trace:\n%s", s)
			}
			if p.stdout.Len() != 0 {
				t.Errorf("stdout not empty:\n%s", p.stdout.String())
			}
		})
	}
}
