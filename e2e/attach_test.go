package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/llmconc/llmconc/simulator"
)

// TestAttach follows one run from two starters at once (the one that started
// it and one attached while it runs), then attaches again after it ended with
// no worker left: all three write the same result.
func TestAttach(t *testing.T) {
	key := "e2e-attach-key-" + randHex(8)
	sim := simulator.New(simulator.Config{Latency: time.Second, APIKey: key, Seed: 4})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	worker := startWorker(t, key, base)

	const n = 3 // about 3 s of sequential pass, then 1.5 s of concurrent pass
	id := "e2e-attach-" + randHex(4)
	dir := t.TempDir()
	firstOut, otherOut, lateOut := filepath.Join(dir, "first.json"), filepath.Join(dir, "other.json"), filepath.Join(dir, "late.json")
	first := startProc(t, "starter", starterBin, binEnv(),
		"-requests", "3", "-max-tokens", "16", "-id", id,
		"-out", firstOut, "-timeout", "2m", "-request-timeout", "30s")

	// Wait until the run exists and is running, then attach while it runs.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitRunning(ctx, t, id, first)

	attachedAt := time.Now()
	other, code := runStarter(t, 2*time.Minute, "-attach", id, "-out", otherOut)
	if code != 0 {
		t.Errorf("attached starter exited %d, want 0\n%s", code, other.output())
	}
	if !strings.Contains(other.stdout.String(), "Attached to run "+id) {
		t.Errorf("attached starter does not say it attached:\n%s", other.output())
	}
	if code := first.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("first starter exited %d, want 0\n%s", code, first.output())
	}
	desc, err := tc.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatalf("describe the run: %v", err)
	}
	if closed := desc.RawResponse.GetWorkflowExecutionInfo().GetCloseTime().AsTime(); !closed.After(attachedAt) {
		t.Errorf("the run closed at %s, before the second starter attached at %s: the test did not attach to a running run", closed, attachedAt)
	}
	firstRaw, firstDoc := readDoc(t, firstOut)
	checkCompleted(t, firstDoc, id, n)
	otherRaw, otherDoc := readDoc(t, otherOut)
	sameResult(t, "attached while running", firstRaw, firstDoc, otherRaw, otherDoc)

	// The run is over and no worker polls its task queue any more: the
	// result comes from the history alone.
	if code := worker.stop(t); code != 0 {
		t.Errorf("worker exited %d on SIGINT, want 0\n%s", code, worker.output())
	}
	late, code := runStarter(t, time.Minute, "-attach", id, "-out", lateOut)
	if code != 0 {
		t.Fatalf("starter attached to the finished run exited %d, want 0\n%s", code, late.output())
	}
	lateRaw, lateDoc := readDoc(t, lateOut)
	sameResult(t, "attached after the end", firstRaw, firstDoc, lateRaw, lateDoc)
	if st := sim.Stats(); st.ChatRequests != 2*n+1 {
		t.Errorf("simulator saw %d chat requests, want %d (both passes and the warm-up): attaching must not send any", st.ChatRequests, 2*n+1)
	}
}

// waitRunning polls until the run with workflow ID id is running. It fails
// the test if the run ends first, if starter exits, or at ctx's deadline.
func waitRunning(ctx context.Context, t *testing.T, id string, starter *proc) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		desc, err := tc.DescribeWorkflow(ctx, id, "")
		switch {
		case err == nil:
			st := desc.RawResponse.GetWorkflowExecutionInfo().GetStatus()
			if st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return
			}
			t.Fatalf("run %s is %v before the test could attach to it", id, st)
		case !errors.As(err, new(*serviceerror.NotFound)):
			last = err
		}
		select {
		case <-starter.done:
			t.Fatalf("the starter exited before its run was found\n%s", starter.output())
		case <-ctx.Done():
			t.Fatalf("run %s not running in time (last error: %v)", id, last)
		case <-tick.C:
		}
	}
}

// sameResult checks that two result files describe the same run with the
// same records; since both are built from one workflow result they must be
// identical.
func sameResult(t *testing.T, what string, wantRaw []byte, want resultDoc, gotRaw []byte, got resultDoc) {
	t.Helper()
	if got.WorkflowID != want.WorkflowID || got.RunID != want.RunID {
		t.Errorf("%s: run %s/%s, want %s/%s", what, got.WorkflowID, got.RunID, want.WorkflowID, want.RunID)
	}
	if !reflect.DeepEqual(got.Sequential, want.Sequential) || !reflect.DeepEqual(got.Concurrent, want.Concurrent) {
		t.Errorf("%s: the per-request records differ", what)
	}
	var wm, gm map[string]any
	if err := json.Unmarshal(wantRaw, &wm); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(gotRaw, &gm); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(wm["sequential"], gm["sequential"]) || !reflect.DeepEqual(wm["concurrent"], gm["concurrent"]) {
		t.Errorf("%s: the passes differ in the JSON", what)
	}
	if !bytes.Equal(wantRaw, gotRaw) {
		t.Errorf("%s: the result files differ:\n--- first:\n%s\n--- %s:\n%s", what, wantRaw, what, gotRaw)
	}
}
