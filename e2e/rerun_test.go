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
	if got := healthy.Stats().Requests; got != nFailed {
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
