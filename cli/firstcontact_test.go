package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/devserver"
)

// TestHelpOnceAndComplete: every -h prints its usage exactly once, with the
// subcommands, the flags and the environment, and exits 0.
func TestHelpOnceAndComplete(t *testing.T) {
	isolate(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"starter list", "starter result", "starter rerun", "starter -dev list", "-failed-only", "-dev-fresh", "-ui", "TEMPORAL_ADDRESS", "TEMPORAL_UI_URL", "OPENAI_API_KEY", "TEMPORAL_CLI", "LLMCONC_CODEC_KEY"}},
		{[]string{"list", "-h"}, []string{"-n", "TEMPORAL_ADDRESS"}},
		{[]string{"result", "-h"}, []string{"-out", "-html", "WORKFLOW_ID", "TEMPORAL_ADDRESS"}},
		{[]string{"rerun", "-h"}, []string{"-failed-only", "-id", "-ui", "TEMPORAL_ADDRESS", "LLMCONC_CODEC_KEY"}},
		{[]string{"-dev", "rerun", "-h"}, []string{"-failed-only"}},
	} {
		code, stdout, stderr := runMain(t, c.args...)
		if code != ExitOK || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want 0 and the usage on stderr", c.args, code, stdout)
		}
		if n := strings.Count(stderr, "Usage: starter"); n != 1 {
			t.Errorf("%q: usage printed %d times:\n%s", c.args, n, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: usage lacks %q:\n%s", c.args, w, stderr)
			}
		}
		if strings.Contains(stderr, "starter: ") || strings.Contains(stderr, "Starting a local") {
			t.Errorf("%q: an error or a dev server in the help: %q", c.args, stderr)
		}
	}
}

// TestSubcommandErrorsSayStarterOnce: "starter: rerun …", not "starter:
// starter rerun …".
func TestSubcommandErrorsSayStarterOnce(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"rerun"}, {"result"}, {"rerun", "-nope", "x"}, {"list", "-n", "0"}, {"list", "extra"}} {
		code, _, stderr := runMain(t, args...)
		if code != ExitBadInput {
			t.Errorf("%q: exit %d, want %d", args, code, ExitBadInput)
		}
		line := oneErrorLine(t, stderr)
		if strings.Contains(line, "starter: starter") || !strings.HasPrefix(line, "starter: "+args[0]) {
			t.Errorf("%q: error line %q, want \"starter: %s…\"", args, line, args[0])
		}
	}
}

// TestOutputsThatCollideAreRefused: -out r.html makes the default HTML
// report r.html too; -out and -html naming one file likewise.
func TestOutputsThatCollideAreRefused(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-out", filepath.Join(dir, "r.html")},
		{"-out", filepath.Join(dir, "r.json"), "-html", filepath.Join(dir, "r.json")},
		{"-out", filepath.Join(dir, "r.json"), "-html", filepath.Join(dir, ".", "r.json")},
	} {
		code, _, stderr := runMain(t, append([]string{"-requests", "2"}, args...)...)
		line := oneErrorLine(t, stderr)
		if code != ExitBadInput || !strings.Contains(line, "overwrite") && !strings.Contains(line, "both be") {
			t.Errorf("%q: exit %d, %q; want exit 2 and a line on the collision", args, code, line)
		}
		if strings.Contains(line, deadAddress) {
			t.Errorf("%q: the collision was found after dialing Temporal", args)
		}
	}
	code, _, stderr := runMain(t, "rerun", "-out", filepath.Join(dir, "x.json"), "-html", filepath.Join(dir, "x.json"), "some-id")
	if line := oneErrorLine(t, stderr); code != ExitBadInput || !strings.Contains(line, "overwrite") {
		t.Errorf("rerun with colliding outputs: exit %d, %q", code, line)
	}
}

// TestUnwritableOutputNamesOnlyTheUsersPath: the error names -out's path,
// not the probe file the check creates.
func TestUnwritableOutputNamesOnlyTheUsersPath(t *testing.T) {
	isolate(t)
	out := "/nonexistent-dir/x.json"
	code, _, stderr := runMain(t, "-out", out)
	line := oneErrorLine(t, stderr)
	if code != ExitBadInput || !strings.Contains(line, out) || strings.Contains(line, "write-check") {
		t.Errorf("exit %d, %q; want exit 2 naming %s and no probe file", code, line, out)
	}
	if n := strings.Count(line, "/nonexistent-dir"); n != 1 {
		t.Errorf("%q names the folder %d times, want once", line, n)
	}
}

func TestDefaultPathIsTheWorkflowID(t *testing.T) {
	if got, want := defaultPath("concurrency-test-gpt-4.1-nano-20261129T102611.000Z"), "test_results_concurrency-test-gpt-4.1-nano-20261129T102611.000Z.json"; got != want {
		t.Errorf("defaultPath = %q, want %q", got, want)
	}
	if got := defaultPath("a/b c"); strings.ContainsAny(got, "/ ") {
		t.Errorf("defaultPath of an ID with a slash and a space = %q", got)
	}
	// .gitignore ignores both files.
	b, err := os.ReadFile("../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/test_results_*.json", "/test_results_*.html"} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf(".gitignore lacks %s", want)
		}
	}
}

func TestDevFreshNeedsDev(t *testing.T) {
	isolate(t)
	code, _, stderr := runMain(t, "-dev-fresh", "-out", filepath.Join(t.TempDir(), "r.json"))
	if line := oneErrorLine(t, stderr); code != ExitBadInput || !strings.Contains(line, "-dev") {
		t.Errorf("-dev-fresh alone: exit %d, %q", code, line)
	}
}

// TestUILinkOnlyWhenTheUIAnswers: the watcher prints the link when a server
// answers at -ui, and otherwise one line on -ui and TEMPORAL_UI_URL.
func TestUILinkOnlyWhenTheUIAnswers(t *testing.T) {
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ui.Close()
	var out strings.Builder
	newWatcherAt := func(uiURL string) *watcher {
		w := newWatcher(temporalConn{namespace: "default"}, destination{human: &out}, watchOptions{uiURL: uiURL})
		w.ref = runRef{workflowID: "wf", runID: "run"}
		return w
	}
	w := newWatcherAt(ui.URL)
	w.printLink()
	if want := "Temporal UI: " + ui.URL + "/namespaces/default/workflows/wf/run/history\n"; out.String() != want {
		t.Errorf("with a UI: %q, want %q", out.String(), want)
	}
	out.Reset()
	w = newWatcherAt("http://127.0.0.1:1")
	w.printLink()
	if got := out.String(); strings.Contains(got, "/namespaces/") || !strings.Contains(got, "-ui") || !strings.Contains(got, EnvUIURL) || strings.Count(got, "\n") != 1 {
		t.Errorf("without a UI: %q, want one line on -ui and %s and no link", got, EnvUIURL)
	}
	if w.link() != "" {
		t.Errorf("a link after the UI did not answer: %q", w.link())
	}
	t.Setenv(EnvUIURL, "http://ui.example:8233")
	o, err := parseFlags(nil, &strings.Builder{})
	if err != nil || o.uiURL != "http://ui.example:8233" {
		t.Errorf("-ui default with %s set = %q, %v", EnvUIURL, o.uiURL, err)
	}
}

// TestDevCommandChecksBeforeStartingAServer: `starter -dev result` with bad
// arguments starts no dev server.
func TestDevCommandChecksBeforeStartingAServer(t *testing.T) {
	isolate(t)
	t.Setenv(EnvDevDB, filepath.Join(t.TempDir(), "dev.db"))
	code, stdout, stderr := runMain(t, "-dev", "result")
	line := oneErrorLine(t, stderr)
	if code != ExitBadInput || stdout != "" || !strings.Contains(line, "one workflow ID") {
		t.Errorf("exit %d, stdout %q, %q", code, stdout, line)
	}
}

// TestUnreachableServerPointsAtTheDemo: without TEMPORAL_ADDRESS, the
// subcommands' unreachable-server error says how to reach the demo's runs.
func TestUnreachableServerPointsAtTheDemo(t *testing.T) {
	isolate(t)
	t.Setenv("TEMPORAL_ADDRESS", "")
	t.Setenv("TEMPORAL_PROFILE", "")
	// Nothing listens on localhost:7233 in this test? Only then.
	if !portFree(7233) {
		t.Skip("a Temporal server runs on localhost:7233")
	}
	code, _, stderr := runMain(t, "list")
	line := oneErrorLine(t, stderr)
	if code != ExitBadInput || !strings.Contains(line, "starter -dev list") {
		t.Errorf("exit %d, %q; want exit 2 and the hint `starter -dev list`", code, line)
	}
	t.Setenv("TEMPORAL_ADDRESS", deadAddress)
	_, _, stderr = runMain(t, "list")
	if line := oneErrorLine(t, stderr); strings.Contains(line, "-dev") || strings.Contains(line, "set TEMPORAL_ADDRESS") {
		t.Errorf("with TEMPORAL_ADDRESS set: %q; want neither the demo hint nor 'set TEMPORAL_ADDRESS'", line)
	}
}

func portFree(p int) bool { return devserver.PortFree(p) }
