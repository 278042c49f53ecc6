package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDockerComposeConfig checks that docker-compose.yml is a valid Compose
// file with the services the README promises. It needs docker-compose (no
// Docker daemon): without it the test is skipped, except in CI.
func TestDockerComposeConfig(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("docker-compose is not on PATH, and CI is set: install it to check docker-compose.yml")
		}
		t.Skip("docker-compose is not on PATH: cannot check docker-compose.yml (set CI to make this a failure)")
	}
	file := filepath.Join(repoRoot, "docker-compose.yml")
	compose := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-f", file}, args...)...)
		cmd.Dir = repoRoot
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	if out := compose("config", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("docker-compose config -q printed output:\n%s", out)
	}
	services := strings.Fields(compose("config", "--services"))
	for _, want := range []string{"temporal", "temporal-ui", "postgresql"} {
		if !slices.Contains(services, want) {
			t.Errorf("docker-compose config --services = %v, missing %s", services, want)
		}
	}
}
