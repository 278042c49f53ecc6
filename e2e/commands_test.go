package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestListAndResult: `starter list` shows a finished run with its verdict
// and speedup, and `starter result ID` rebuilds the same JSON from the
// history with no worker running and no request sent.
func TestListAndResult(t *testing.T) {
	sim, worker := simulatedEndpoint(t, simulator.Config{Latency: 100 * time.Millisecond, Seed: 1})
	id := "e2e-result-" + randHex(4)
	_, raw := runToJSON(t, "-requests", "3", "-max-tokens", "8", "-id", id)
	sent := sim.Stats().Requests

	p, code := runStarter(t, time.Minute, "list", "-n", "50")
	if code != 0 {
		t.Fatalf("starter list exited %d\n%s", code, p.output())
	}
	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+completed\s+default\s+concurrent\s+\d+\.\d\dx\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	if !strings.HasPrefix(p.stdout.String(), "WORKFLOW ID") || !row.MatchString(p.stdout.String()) {
		t.Errorf("starter list lacks a row for %s with status, endpoint, verdict, speedup and start time:\n%s", id, p.stdout.String())
	}

	// Nothing but the history from here on.
	if code := worker.stop(t); code != 0 {
		t.Fatalf("the worker exited %d on SIGINT", code)
	}
	out := filepath.Join(t.TempDir(), "rebuilt.json")
	p, code = runStarter(t, time.Minute, "result", "-out", out, id)
	if code != 0 {
		t.Fatalf("starter result exited %d\n%s", code, p.output())
	}
	rebuilt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(rebuilt) != string(raw) {
		t.Errorf("the rebuilt JSON differs from the run's own")
	}
	if _, err := os.Stat(strings.TrimSuffix(out, ".json") + ".html"); err != nil {
		t.Errorf("starter result writes the HTML report too: %v", err)
	}
	if got := sim.Stats().Requests; got != sent {
		t.Errorf("starter list/result sent %d requests, want none", got-sent)
	}

	p, code = runStarter(t, time.Minute, "result", "no-such-run-"+randHex(4))
	if code != 2 || !strings.Contains(p.stderr.String(), "no run with workflow ID") {
		t.Errorf("result of an unknown run: exit %d, stderr %q; want 2 and one clear line", code, p.stderr.String())
	}
}

// TestRerun: `starter rerun ID` starts a new run with the first run's
// configuration, prompts included, read from its history.
func TestRerun(t *testing.T) {
	simulatedEndpoint(t, simulator.Config{Latency: 100 * time.Millisecond, Seed: 1})
	id := "e2e-rerun-" + randHex(4)
	_, raw := runToJSON(t, "-requests", "3", "-concurrency", "2", "-max-tokens", "8", "-id", id)
	_, first := decodeDoc(t, raw)

	out := filepath.Join(t.TempDir(), "rerun.json")
	p, code := runStarter(t, 2*time.Minute, "rerun", "-out", out, id)
	if code != 0 {
		t.Fatalf("starter rerun exited %d\n%s", code, p.output())
	}
	_, again := readDoc(t, out)
	if again.WorkflowID == id || again.RunID == first.RunID {
		t.Errorf("the rerun must be a new run, got %s/%s", again.WorkflowID, again.RunID)
	}
	checkCompleted(t, again, again.WorkflowID, 3)
	if again.Config.Requests != 3 || again.Config.Concurrency != 2 || again.Config.Model != first.Config.Model {
		t.Errorf("the rerun's configuration %+v differs from the first run's %+v", again.Config, first.Config)
	}
	for i := range first.Sequential.Requests {
		if again.Sequential.Requests[i].Prompt != first.Sequential.Requests[i].Prompt {
			t.Errorf("request %d: prompt %q, the first run sent %q", i, again.Sequential.Requests[i].Prompt, first.Sequential.Requests[i].Prompt)
		}
	}
	if !strings.Contains(p.stdout.String(), "Rerunning "+id) {
		t.Errorf("the rerun does not say what it reruns\n%s", p.stdout.String())
	}
}
