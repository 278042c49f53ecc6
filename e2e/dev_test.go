package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/devserver"
)

// TestDevDemo runs the README's demo command as a user would, with no key
// set: the starter brings up its own dev server with the UI, an in-process
// worker and the simulator, completes the run, writes the JSON, and stops
// what it started.
func TestDevDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.json")
	// LLMCONC_DEV_PORT=0: a dev server of the demo's own, on free ports. On
	// 7233 the demo would use a server already there, which another test
	// (or program) on the machine may stop mid-run.
	env := demoEnv(t.TempDir())
	p := startProc(t, "starter -dev", starterBin, env, "-dev", "-requests", "3", "-out", out)
	if code := p.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("starter -dev exited %d, want 0\n%s", code, p.output())
	}
	stdout := p.stdout.String()
	for _, want := range []string{
		"built-in simulator",
		"no OPENAI_API_KEY set",
		"SEQUENTIAL PASS",
		"CONCURRENT PASS",
		"COMPARISON",
		"Verdict: concurrent",
		"Results saved to " + out,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, p.output())
		}
	}
	link := regexp.MustCompile(`Temporal UI: (http://127\.0\.0\.1:\d+/namespaces/default/workflows/\S+/\S+/history)`).FindStringSubmatch(stdout)
	if link == nil {
		t.Errorf("stdout has no link to the run in the Temporal UI\n%s", stdout)
	}

	_, d := readDoc(t, out)
	checkCompleted(t, d, d.WorkflowID, 3)
	if d.Conclusion.Verdict != "concurrent" {
		t.Errorf("verdict %q, want concurrent (the simulator serves all at once)", d.Conclusion.Verdict)
	}
	if link != nil && !strings.Contains(link[1], d.WorkflowID+"/"+d.RunID) {
		t.Errorf("UI link %s does not name run %s/%s", link[1], d.WorkflowID, d.RunID)
	}
	if !strings.HasPrefix(d.WorkflowID, "concurrency-test-gpt-4.1-nano-") {
		t.Errorf("workflow_id %q, want concurrency-test-<model>-<time>", d.WorkflowID)
	}
	// The simulator answers in 2-3 s, like the original script's API.
	for _, r := range d.Sequential.Requests {
		if r.LatencySeconds < 2 || r.LatencySeconds > 3.5 {
			t.Errorf("sequential request %d took %.2fs, want 2-3 s from the demo's simulator", r.Index, r.LatencySeconds)
		}
	}

	if strings.Contains(stdout, "Starting a local Temporal dev server") {
		addr := regexp.MustCompile(`Temporal:\s+(\S+) \(local dev server`).FindStringSubmatch(stdout)
		if addr == nil {
			t.Fatalf("stdout does not say which dev server it used\n%s", stdout)
		}
		if devserver.Answers(context.Background(), addr[1], "default") {
			t.Errorf("the dev server the demo started at %s still answers after the starter exited", addr[1])
		}
	}
}
