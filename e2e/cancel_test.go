package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/testrun"
)

// TestCancelledRunEndsCancelled cancels a run through Temporal (as the UI's
// Cancel button does) once the endpoint has answered its first sequential
// request: the run ends cancelled, not completed; the starter writes the
// JSON with that answer kept and the requests not answered marked, says in
// one line that the run was cancelled, and exits 1; `starter result`
// rebuilds the same records from the history; nothing more is sent.
func TestCancelledRunEndsCancelled(t *testing.T) {
	sim, _ := simulatedEndpoint(t, simulator.Config{Latency: time.Second, Seed: 9})
	id := "e2e-cancelled-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, binEnv(), "-warmup", "0", "-requests", "3", "-max-tokens", "8",
		"-id", id, "-out", out, "-html", "none")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitDone(ctx, t, id, func(p testrun.Progress) bool { return p.Sequential.Done >= 1 })
	if err := tc.CancelWorkflow(ctx, id, ""); err != nil {
		t.Fatalf("cancel the run: %v", err)
	}
	if code := starter.wait(t, 2*time.Minute); code != 1 {
		t.Errorf("the starter exited %d, want 1\n%s", code, starter.output())
	}
	if !strings.Contains(starter.stderr.String(), "cancelled through Temporal") {
		t.Errorf("the starter's error does not say the run was cancelled:\n%s", starter.output())
	}
	desc, err := tc.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.RawResponse.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED {
		t.Errorf("the run's status is %v, want canceled", st)
	}

	_, d := readDoc(t, out)
	checkCancelledDoc(t, d, starter)
	again := filepath.Join(t.TempDir(), "again.json")
	res, _ := runStarter(t, time.Minute, "result", "-out", again, "-html", "none", id)
	_, d2 := readDoc(t, again)
	checkCancelledDoc(t, d2, res)
	if n := sim.Stats().ChatRequests; n > 2 {
		t.Errorf("the simulator saw %d chat requests, want at most 2: nothing is sent after the cancellation", n)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}

// checkCancelledDoc checks the JSON of the cancelled run: the sequential
// pass's first answer kept, its last request cancelled, the concurrent
// pass's requests there but never answered, the error and conclusion saying
// it was cancelled.
func checkCancelledDoc(t *testing.T, d resultDoc, p *proc) {
	t.Helper()
	if !strings.Contains(d.Error, "cancelled through Temporal") || d.Conclusion.Verdict != "inconclusive" {
		t.Errorf("error %q, verdict %q: want the cancellation, inconclusive\n%s", d.Error, d.Conclusion.Verdict, p.output())
	}
	if d.Sequential == nil || len(d.Sequential.Requests) != 3 {
		t.Fatalf("sequential pass: want 3 records, got %+v\n%s", d.Sequential, p.output())
	}
	if r := d.Sequential.Requests[0]; !r.OK || r.Index != 0 {
		t.Errorf("the first sequential answer was not kept: %+v", r)
	}
	// The request in flight at the cancellation may have been answered
	// before its batch heard of it (the run waits for it); the last was
	// never sent.
	if r := d.Sequential.Requests[1]; !r.OK && !strings.Contains(r.Error, "cancel") {
		t.Errorf("sequential record 1: ok %v, error %q; want answered or cancelled", r.OK, r.Error)
	}
	if r := d.Sequential.Requests[2]; r.OK || !strings.Contains(r.Error, "cancel") {
		t.Errorf("sequential record 2: ok %v, error %q; want cancelled", r.OK, r.Error)
	}
	if d.Concurrent == nil || len(d.Concurrent.Requests) != 3 || d.Concurrent.Successful != 0 {
		t.Errorf("concurrent pass: want its 3 requests, none answered, got %+v", d.Concurrent)
	}
}

// TestCancelledMidBurstKeepsWhatWasSent cancels a run while its concurrent
// pass's requests are all in the endpoint's hands: the run waits for its
// batches to stop, and the JSON has each request as sent (its send time)
// and cancelled, not as never sent.
func TestCancelledMidBurstKeepsWhatWasSent(t *testing.T) {
	const n = 4
	sim, _ := simulatedEndpoint(t, simulator.Config{Latency: time.Minute, Seed: 10})
	id := "e2e-cancelled-burst-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, binEnv(), "-warmup", "0", "-passes", "concurrent", "-requests", strconv.Itoa(n),
		"-max-tokens", "8", "-request-timeout", "5m", "-id", id, "-out", out, "-html", "none")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitSimulator(t, sim, starter, func(st simulator.Stats) bool { return st.ChatRequests >= n })
	if err := tc.CancelWorkflow(ctx, id, ""); err != nil {
		t.Fatalf("cancel the run: %v", err)
	}
	if code := starter.wait(t, 2*time.Minute); code != 1 {
		t.Errorf("the starter exited %d, want 1\n%s", code, starter.output())
	}
	_, d := readDoc(t, out)
	if d.Concurrent == nil || len(d.Concurrent.Requests) != n {
		t.Fatalf("concurrent pass: want %d records, got %+v\n%s", n, d.Concurrent, starter.output())
	}
	for _, r := range d.Concurrent.Requests {
		if r.OK || r.SentAt == "" || !strings.Contains(r.Error, "cancel") {
			t.Errorf("record %d: ok %v, sent_at %q, error %q; want sent, then cancelled", r.Index, r.OK, r.SentAt, r.Error)
		}
	}
}
