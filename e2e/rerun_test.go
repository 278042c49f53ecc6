package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestRerunFailedOnly: a run against an endpoint that answers some requests
// with 500; the endpoint recovers; `starter rerun -failed-only` resends
// exactly the failed requests and writes a result that merges them with the
// first run's successes and names the first run. `starter result` on the
// rerun rebuilds the same merged JSON from the two histories.
func TestRerunFailedOnly(t *testing.T) {
	const n = 8
	_, worker := simulatedEndpoint(t, simulator.Config{Latency: 50 * time.Millisecond, Seed: 3, Faults: simulator.Faults{Error500: 0.4}})
	id := "e2e-failed-only-" + randHex(4)
	_, raw := runToJSON(t, "-requests", "8", "-concurrency", "4", "-max-tokens", "8", "-id", id)
	_, first := decodeDoc(t, raw)
	failed := map[string][]int{}
	for _, p := range []*passDoc{first.Sequential, first.Concurrent} {
		for _, r := range p.Requests {
			if !r.OK {
				failed[r.Pass] = append(failed[r.Pass], r.Index)
			}
		}
	}
	nFailed := len(failed["sequential"]) + len(failed["concurrent"])
	if nFailed == 0 || nFailed == 2*n {
		t.Fatalf("the simulator's 500s must fail some requests and not all; %d of %d failed", nFailed, 2*n)
	}

	// The endpoint recovers: a new worker, on an endpoint without faults.
	if code := worker.stop(t); code != 0 {
		t.Fatalf("the worker exited %d on SIGINT", code)
	}
	healthy, _ := simulatedEndpoint(t, simulator.Config{Latency: 50 * time.Millisecond, Seed: 3})

	out := filepath.Join(t.TempDir(), "merged.json")
	p, code := runStarter(t, 2*time.Minute, "rerun", "-failed-only", "-out", out, id)
	if code != 0 {
		t.Fatalf("starter rerun -failed-only exited %d\n%s", code, p.output())
	}
	if got := healthy.Stats().ChatRequests; got != nFailed {
		t.Errorf("the rerun sent %d requests, want exactly the %d that failed", got, nFailed)
	}
	rawMerged, merged := readDoc(t, out)
	if merged.WorkflowID == id {
		t.Errorf("the merged result must name the rerun, got the first run's ID")
	}
	for _, pass := range []struct {
		name        string
		first, were *passDoc
	}{{"sequential", first.Sequential, merged.Sequential}, {"concurrent", first.Concurrent, merged.Concurrent}} {
		if pass.were.Successful != n || pass.were.Failed != 0 || len(pass.were.Requests) != n {
			t.Errorf("%s: merged %d successful, %d failed, %d records; want all %d successful", pass.name, pass.were.Successful, pass.were.Failed, len(pass.were.Requests), n)
			continue
		}
		for i, r := range pass.were.Requests {
			orig := pass.first.Requests[i]
			if r.Index != i || r.Prompt != orig.Prompt {
				t.Errorf("%s #%d: index %d, prompt %q; want the first run's request %d", pass.name, i, r.Index, r.Prompt, i)
			}
			resent := slices.Contains(failed[pass.name], i)
			if !resent && r.SentAt != orig.SentAt {
				t.Errorf("%s #%d succeeded the first time: its record must be the first run's (sent %s, merged %s)", pass.name, i, orig.SentAt, r.SentAt)
			}
			if resent && r.SentAt <= orig.SentAt {
				t.Errorf("%s #%d failed the first time: its record must be the rerun's, sent after %s, got %s", pass.name, i, orig.SentAt, r.SentAt)
			}
		}
	}
	var doc struct {
		Rerun struct {
			Of       string           `json:"of"`
			OfRunID  string           `json:"of_run_id"`
			Resent   map[string][]int `json:"resent"`
			Replaced []recordDoc      `json:"replaced"`
			Note     string           `json:"note"`
		} `json:"rerun"`
	}
	if err := json.Unmarshal(rawMerged, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Rerun.Of != id || doc.Rerun.OfRunID != first.RunID || doc.Rerun.Note == "" {
		t.Errorf("the merged result must name the first run %s/%s, got %+v", id, first.RunID, doc.Rerun)
	}
	for pass, idx := range failed {
		if !slices.Equal(doc.Rerun.Resent[pass], idx) {
			t.Errorf("rerun.resent[%s] = %v, want the failed %v", pass, doc.Rerun.Resent[pass], idx)
		}
	}
	if len(doc.Rerun.Replaced) != nFailed {
		t.Errorf("rerun.replaced keeps %d first failures, want %d", len(doc.Rerun.Replaced), nFailed)
	}
	for _, r := range doc.Rerun.Replaced {
		if r.OK || r.HTTPStatus != 500 {
			t.Errorf("replaced record %s #%d: ok %v, status %d; want the first run's 500", r.Pass, r.Index, r.OK, r.HTTPStatus)
		}
	}
	if !strings.Contains(p.stdout.String(), "Merged with run "+id) {
		t.Errorf("the rerun does not say it merged with %s:\n%s", id, p.stdout.String())
	}
	// The live output: the resent requests under a header naming the run
	// they failed in, then the merged summaries, never the rerun's own.
	live := p.stdout.String()
	for _, want := range []string{"resending the requests that failed in run " + id, "MERGED RESULT: run " + id,
		"Successful:            8\n    Failed:                0"} {
		if !strings.Contains(live, want) {
			t.Errorf("the rerun's output lacks %q:\n%s", want, live)
		}
	}
	if strings.Count(live, "Successful:            8") != 2 || strings.Contains(live, "Total time:            0.00s") {
		t.Errorf("the rerun's output must show the two merged summaries and none of its own:\n%s", live)
	}
	if got := strings.Count(live, "  Request #"); got != nFailed {
		t.Errorf("the rerun's output shows %d request lines, want the %d resent:\n%s", got, nFailed, live)
	}
	// The HTML report says it is a rerun and names the original.
	page, err := os.ReadFile(strings.TrimSuffix(out, ".json") + ".html")
	if err != nil || !strings.Contains(string(page), `class="rerun-banner"`) || !strings.Contains(string(page), id) || !strings.Contains(string(page), `data-pass="sequential-resent"`) && !strings.Contains(string(page), `data-pass="concurrent-resent"`) {
		t.Errorf("the merged HTML report must say it is a rerun of %s and draw the resent requests apart (err %v)", id, err)
	}
	// starter list marks the rerun, with the original's verdict, not its
	// own few-request speedup.
	lp, code := runStarter(t, time.Minute, "list", "-n", "50")
	if code != 0 {
		t.Fatalf("starter list exited %d\n%s", code, lp.output())
	}
	var origRow, rerunRow string
	for _, l := range lines(lp.stdout.String()) {
		switch {
		case strings.HasPrefix(l, id+" "):
			origRow = l
		case strings.HasPrefix(l, merged.WorkflowID+" "):
			rerunRow = l
		}
	}
	origFields, rerunFields := strings.Fields(origRow), strings.Fields(rerunRow)
	if len(origFields) < 5 || len(rerunFields) < 5 || !strings.Contains(rerunRow, "rerun of failed requests of "+id) ||
		!slices.Equal(origFields[3:5], rerunFields[3:5]) {
		t.Errorf("starter list: the rerun's row must show the original's verdict and speedup and name it:\n%s\n%s", origRow, rerunRow)
	}

	// The merged result comes back from the histories alone.
	rebuilt := filepath.Join(t.TempDir(), "rebuilt.json")
	p, code = runStarter(t, time.Minute, "result", "-out", rebuilt, merged.WorkflowID)
	if code != 0 {
		t.Fatalf("starter result exited %d\n%s", code, p.output())
	}
	if b, err := os.ReadFile(rebuilt); err != nil || string(b) != string(rawMerged) {
		t.Errorf("starter result of the rerun must rebuild the merged JSON byte for byte (err %v)", err)
	}

	// Nothing failed any more: a second -failed-only has nothing to send.
	p, code = runStarter(t, time.Minute, "rerun", "-failed-only", merged.WorkflowID)
	if code != 2 || !strings.Contains(p.stderr.String(), "no failed request") {
		t.Errorf("rerun -failed-only of a run without failures: exit %d, stderr %q; want 2 and one clear line", code, p.stderr.String())
	}
}
