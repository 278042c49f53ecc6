package devserver

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// goDirOnly sets PATH to the folder of the go command alone (plus the
// system's), as on a default Go install, and returns that folder.
func goDirOnly(t *testing.T) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	t.Setenv("PATH", filepath.Dir(goBin)+string(os.PathListSeparator)+"/usr/bin:/bin")
}

// fakeCLI writes an executable file named temporal in dir.
func fakeCLI(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "temporal")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFindCLIInGOPATHBinWithGOBINUnset is the default Go install: GOBIN
// unset, GOPATH/bin not on PATH, the CLI installed there by `go install`.
// Asking `go env GOBIN GOPATH` and trimming its answer took GOPATH for GOBIN.
func TestFindCLIInGOPATHBinWithGOBINUnset(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the binary is temporal.exe there")
	}
	goDirOnly(t)
	gopath := t.TempDir()
	t.Setenv("GOPATH", gopath)
	t.Setenv("GOBIN", "")
	t.Setenv(EnvCLI, "")
	want := fakeCLI(t, filepath.Join(gopath, "bin"))
	got, ok := FindCLI()
	if !ok || got != want {
		t.Fatalf("FindCLI() = %q, %v; want %q (GOPATH/bin with GOBIN unset)", got, ok, want)
	}
}

func TestFindCLIInGOBIN(t *testing.T) {
	goDirOnly(t)
	t.Setenv("GOPATH", t.TempDir())
	gobin := t.TempDir()
	t.Setenv("GOBIN", gobin)
	t.Setenv(EnvCLI, "")
	want := fakeCLI(t, gobin)
	if got, ok := FindCLI(); !ok || got != want {
		t.Fatalf("FindCLI() = %q, %v; want %q (GOBIN)", got, ok, want)
	}
}

func TestParseGoEnv(t *testing.T) {
	for _, c := range []struct {
		json string
		want []string
	}{
		{`{"GOBIN": "", "GOPATH": "/home/u/go"}`, []string{"/home/u/go/bin"}},
		{`{"GOBIN": "/opt/bin", "GOPATH": "/home/u/go"}`, []string{"/opt/bin", "/home/u/go/bin"}},
		{`{"GOBIN": "", "GOPATH": "/a` + string(os.PathListSeparator) + `/b"}`, []string{"/a/bin", "/b/bin"}},
		{`not json`, nil},
	} {
		if got := parseGoEnv([]byte(c.json)); !slices.Equal(got, c.want) {
			t.Errorf("parseGoEnv(%s) = %q, want %q", c.json, got, c.want)
		}
	}
}

// TestTemporalCLIWins: TEMPORAL_CLI names the binary whatever is on PATH; a
// TEMPORAL_CLI that is no executable is an error naming the variable.
func TestTemporalCLIWins(t *testing.T) {
	dir := t.TempDir()
	onPath := fakeCLI(t, filepath.Join(dir, "path"))
	t.Setenv("PATH", filepath.Dir(onPath))
	mine := fakeCLI(t, filepath.Join(dir, "mine"))
	t.Setenv(EnvCLI, mine)
	if got, ok := FindCLI(); !ok || got != mine {
		t.Fatalf("FindCLI() with %s=%s = %q, %v", EnvCLI, mine, got, ok)
	}
	if got, err := EnsureCLI(context.Background(), os.Stderr, 0); err != nil || got != mine {
		t.Fatalf("EnsureCLI() with %s=%s = %q, %v", EnvCLI, mine, got, err)
	}
	for _, bad := range []string{filepath.Join(dir, "nothing-here"), dir} {
		t.Setenv(EnvCLI, bad)
		if _, ok := FindCLI(); ok {
			t.Errorf("FindCLI() with %s=%s found a CLI", EnvCLI, bad)
		}
		_, err := EnsureCLI(context.Background(), os.Stderr, 0)
		if err == nil || !strings.Contains(err.Error(), EnvCLI+"="+bad) {
			t.Errorf("EnsureCLI() with %s=%s: %v, want an error naming the variable", EnvCLI, bad, err)
		}
	}
}

// lineWriter passes each write on a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.lines <- string(p):
	default:
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestEnsureCLIShowsProgressAndFindsTheBuild builds the CLI with a stand-in
// for `go install` that waits until the build has said twice how long it has
// run, then installs into GOPATH/bin (GOBIN unset): EnsureCLI says how to
// skip the build next time, shows elapsed time, and finds the result.
func TestEnsureCLIShowsProgressAndFindsTheBuild(t *testing.T) {
	goDirOnly(t)
	gopath := t.TempDir()
	t.Setenv("GOPATH", gopath)
	t.Setenv("GOBIN", "")
	t.Setenv(EnvCLI, "")
	log := &lineWriter{lines: make(chan string, 16)}
	release := filepath.Join(t.TempDir(), "release")
	orig := installCommand
	t.Cleanup(func() { installCommand = orig })
	target := filepath.Join(gopath, "bin", "temporal")
	installCommand = func(ctx context.Context) *exec.Cmd {
		// Waits for the release file (the test creates it once two
		// progress lines arrived), then "installs".
		return exec.CommandContext(ctx, "sh", "-c", `while [ ! -e "$1" ]; do sleep 0.01; done; mkdir -p "$(dirname "$2")"; printf '#!/bin/sh\n' > "$2"; chmod +x "$2"`, "sh", release, target)
	}
	type res struct {
		p   string
		err error
	}
	done := make(chan res, 1)
	go func() {
		p, err := EnsureCLI(context.Background(), log, 20*time.Millisecond)
		done <- res{p, err}
	}()
	progress := 0
	for progress < 2 {
		select {
		case l := <-log.lines:
			if strings.Contains(l, "elapsed") {
				progress++
			}
		case r := <-done:
			t.Fatalf("EnsureCLI returned before the build ended: %q, %v", r.p, r.err)
		}
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.p != target {
		t.Fatalf("EnsureCLI = %q, %v; want %q", r.p, r.err, target)
	}
	out := log.String()
	for _, want := range []string{"go install " + CLIPackage, EnvCLI + "=/path/to/temporal", "still building the Temporal CLI (", "Built the Temporal CLI: " + target} {
		if !strings.Contains(out, want) {
			t.Errorf("EnsureCLI's messages lack %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, EnvCLI+"="); n != 1 {
		t.Errorf("the hint on skipping the build appears %d times, want once:\n%s", n, out)
	}
}

func TestServerEnvDropsKeys(t *testing.T) {
	got := ServerEnv([]string{"PATH=/usr/bin", "HOME=/home/u", "OPENAI_API_KEY=sk-1", "LLMCONC_CODEC_KEY=k", "MY_KEY=x", "TEMPORAL_API_KEY=t", "TMPDIR=/tmp", "LLMCONC_ENDPOINTS=a:http://x:MY_KEY"})
	if want := []string{"PATH=/usr/bin", "HOME=/home/u", "TMPDIR=/tmp"}; !slices.Equal(got, want) {
		t.Errorf("ServerEnv = %q, want %q", got, want)
	}
}

// TestServerProcessHasNoKeys starts a real dev server from an environment
// holding keys, and reads its process's environment.
func TestServerProcessHasNoKeys(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	cli, ok := FindCLI()
	if !ok {
		t.Skip("the Temporal CLI is not installed (go install " + CLIPackage + "); the e2e tests and .ci/run install it")
	}
	for _, kv := range [][2]string{{"OPENAI_API_KEY", "sk-server-must-not-see"}, {"LLMCONC_CODEC_KEY", "codec-must-not-see"}, {"OTHER_KEY", "other-must-not-see"}, {"LLMCONC_ENDPOINTS", "o:http://127.0.0.1:1/v1:OTHER_KEY"}} {
		t.Setenv(kv[0], kv[1])
	}
	srv, err := Start(context.Background(), Options{CLI: cli, UIPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	env, err := os.ReadFile("/proc/" + itoa(srv.PID()) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"must-not-see", "OPENAI_API_KEY", "LLMCONC_"} {
		if bytes.Contains(env, []byte(secret)) {
			t.Errorf("the dev server's environment holds %q: %q", secret, bytes.ReplaceAll(env, []byte{0}, []byte{' '}))
		}
	}
	if !bytes.Contains(env, []byte("PATH=")) {
		t.Errorf("the dev server's environment lacks PATH: %q", env)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
