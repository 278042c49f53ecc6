package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/devserver"
)

// TestNewcomer runs the README's first command, `go run ./starter -dev`, the
// way a newcomer's machine runs it: an environment holding only HOME, PATH
// (Go's folder and the system's) and a fresh GOPATH whose bin is not on
// PATH, GOBIN unset (Go's defaults), no OPENAI_API_KEY and no TEMPORAL_*
// variable. The Temporal CLI is where the newcomer has it: in that GOPATH's
// bin, as `go install` put it (a link to the CLI the tests use, so that the
// test does not build it again); on PATH; or named by TEMPORAL_CLI.
//
// Four variables are not the newcomer's: GOMODCACHE and GOCACHE point at
// this machine's module and build caches (a fresh GOPATH has an empty module
// cache), and GOPROXY=off keeps the test off the network: with the caches,
// `go run` needs nothing else, and a starter that tried to build the CLI
// would fail at once rather than download it. LLMCONC_DEV_PORT=0 gives the
// demo a dev server of its own on free ports: otherwise a dev server that
// another test (or program) runs on 7233 would serve it, and the CLI would
// not be looked for.
func TestNewcomer(t *testing.T) {
	cli, ok := devserver.FindCLI()
	if !ok {
		t.Fatal("no Temporal CLI for the test (TestMain starts a dev server with one)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	caches := map[string]string{}
	for _, v := range []string{"GOMODCACHE", "GOCACHE"} {
		out, err := exec.Command(goBin, "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		caches[v] = strings.TrimSpace(string(out))
	}
	link := func(t *testing.T, dir string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(cli, filepath.Join(dir, "temporal")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, gopath, extra string) (pathExtra string, env []string)
		args  []string
	}{
		{"cli in GOPATH/bin", func(t *testing.T, gopath, _ string) (string, []string) {
			link(t, filepath.Join(gopath, "bin"))
			return "", nil
		}, nil},
		{"cli on PATH", func(t *testing.T, _, extra string) (string, []string) {
			link(t, extra)
			return extra, nil
		}, []string{"-requests", "3"}},
		{"TEMPORAL_CLI", func(t *testing.T, _, extra string) (string, []string) {
			link(t, extra)
			return "", []string{"TEMPORAL_CLI=" + filepath.Join(extra, "temporal")}
		}, []string{"-requests", "3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			home, gopath, out := filepath.Join(tmp, "home"), filepath.Join(tmp, "gopath"), filepath.Join(tmp, "out")
			for _, d := range []string{home, gopath, out} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			pathExtra, extraEnv := c.setup(t, gopath, filepath.Join(tmp, "elsewhere"))
			path := filepath.Dir(goBin)
			if pathExtra != "" {
				path += string(os.PathListSeparator) + pathExtra
			}
			path += string(os.PathListSeparator) + "/usr/sbin:/usr/bin:/sbin:/bin"
			env := append([]string{
				"HOME=" + home,
				"PATH=" + path,
				"GOPATH=" + gopath,
				"GOMODCACHE=" + caches["GOMODCACHE"],
				"GOCACHE=" + caches["GOCACHE"],
				"GOPROXY=off",
				"LLMCONC_DEV_PORT=0",
			}, extraEnv...)
			jsonPath := filepath.Join(out, "demo.json")
			args := append([]string{"run", "./starter", "-dev", "-out", jsonPath}, c.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goBin, args...)
			cmd.Dir, cmd.Env = repoRoot, env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			all := "--- stdout:\n" + stdout.String() + "--- stderr:\n" + stderr.String()
			if err != nil {
				t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, all)
			}
			so := stdout.String()
			for _, want := range []string{"Starting a local Temporal dev server", "built-in simulator", "Verdict: concurrent", "Results saved to " + jsonPath, "HTML report: "} {
				if !strings.Contains(so, want) {
					t.Errorf("stdout lacks %q\n%s", want, all)
				}
			}
			if strings.Contains(so, "building it with") {
				t.Errorf("the starter built the CLI though it was installed\n%s", all)
			}
			_, d := readDoc(t, jsonPath)
			n := 10
			if len(c.args) > 0 {
				n = 3
			}
			checkCompleted(t, d, d.WorkflowID, n)
			if d.Conclusion.Verdict != "concurrent" {
				t.Errorf("verdict %q, want concurrent", d.Conclusion.Verdict)
			}
			html, err := os.ReadFile(filepath.Join(out, "demo.html"))
			if err != nil || !bytes.Contains(html, []byte(d.WorkflowID)) {
				t.Errorf("HTML report next to the JSON: %v; want one naming %s", err, d.WorkflowID)
			}
			// The demo kept its run in the user's cache folder.
			if _, err := os.Stat(filepath.Join(home, ".cache", "llmconc", "temporal-dev.db")); err != nil {
				t.Errorf("the demo's history file: %v", err)
			}
		})
	}
}
