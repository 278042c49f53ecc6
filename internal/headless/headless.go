// Package headless runs Debian's Chromium headless for tests: it renders a
// page and dumps its DOM or takes a screenshot. Tests that need it skip when
// chromium is not on PATH, unless the environment variable CI is set, where
// they fail (CI installs it).
package headless

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Timeout bounds one Chromium run.
const Timeout = 2 * time.Minute

// Chromium returns the path of chromium, or skips t (fails it with CI set).
func Chromium(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is not on PATH and CI is set: install the Debian package chromium (%v)", err)
		}
		t.Skip("chromium is not on PATH (Debian package chromium); with CI set, this fails instead")
	}
	return path
}

// Run runs headless Chromium bin with a fresh profile and args, bounded by
// Timeout, and returns its standard output. It fails t if Chromium fails.
func Run(t testing.TB, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	ownProcessGroup(cmd)
	// Helper processes that keep the output pipes open cannot hold Wait.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chromium %s did not finish within %s; its stderr ends:\n%s", strings.Join(args, " "), Timeout, tail(stderr.String()))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v; its stderr ends:\n%s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.Bytes()
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}
