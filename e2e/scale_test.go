package e2e

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestManyShardsReassembled runs, on the paths of the 10,000-request run
// that bench/scale measures (docs/limits.md), a concurrent pass large enough
// for them yet quick on CI's 2 cores: 2,500 requests at once over 250
// shards, every process on its own (simulator, worker, starter). The
// starter follows the run live (its progress query answers in pages: 2,500
// events are more than one answer carries), is interrupted mid-run, and
// `-attach` follows it to its end; then `starter result` rebuilds it from
// the history. Every JSON holds each request once, the same in all.
func TestManyShardsReassembled(t *testing.T) {
	const n, shards = 2500, 250
	key := "e2e-scale-key-" + randHex(8)
	base := startSimulatorProcess(t, "-latency", "3s", "-api-key", key)
	startWorker(t, key, base)
	id := "e2e-scale-" + randHex(4)
	dir := t.TempDir()
	firstOut, attachOut, resultOut := filepath.Join(dir, "first.json"), filepath.Join(dir, "attach.json"), filepath.Join(dir, "result.json")
	first := startProc(t, "starter", starterBin, binEnv(),
		"-id", id, "-passes", "concurrent", "-requests", strconv.Itoa(n), "-shards", strconv.Itoa(shards),
		"-max-tokens", "4", "-warmup", "0", "-out", firstOut, "-html", "none", "-timeout", "5m")

	// Interrupt the starter once the run's pass has begun (its batches are
	// scheduled; the requests wait for their instant or are in flight).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitPhase(ctx, t, id, first, string(record.PassConcurrent))
	if !first.signalAndWait(30 * time.Second) {
		t.Fatalf("the starter did not stop on SIGINT\n%s", first.output())
	}
	if !strings.Contains(first.output(), "starter -attach "+id) {
		t.Errorf("the interrupted starter does not say how to follow the run again:\n%s", first.output())
	}

	attached, code := runStarter(t, 3*time.Minute, "-attach", id, "-out", attachOut, "-html", "none")
	if code != 0 {
		t.Fatalf("starter -attach exited %d, want 0\n%s", code, attached.output())
	}
	// The live display took in every event, page after page: the pass's
	// bar reached the end before its summary.
	if out := attached.stdout.String(); !strings.Contains(out, fmt.Sprintf("%d/%d", n, n)) {
		t.Errorf("the attached starter's progress never reached %d/%d:\n%s", n, n, tailOf(out, 3000))
	}
	res, code := runStarter(t, 2*time.Minute, "result", "-out", resultOut, "-html", "none", id)
	if code != 0 {
		t.Fatalf("starter result exited %d, want 0\n%s", code, res.output())
	}
	attachRaw, attachDoc := readDoc(t, attachOut)
	checkEveryRequestOnce(t, "-attach", attachDoc, n)
	resultRaw, resultDoc := readDoc(t, resultOut)
	checkEveryRequestOnce(t, "result", resultDoc, n)
	if !bytes.Equal(attachRaw, resultRaw) {
		t.Errorf("the JSON of `starter result` (%d bytes) differs from -attach's (%d bytes)", len(resultRaw), len(attachRaw))
	}

	desc, err := tc.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if events := desc.RawResponse.GetWorkflowExecutionInfo().GetHistoryLength(); events > 6*shards+100 {
		t.Errorf("the run's history has %d events; %d shards should take about 3 each", events, shards)
	}
}

// checkEveryRequestOnce checks that the concurrent pass holds one record
// for each of the n requests, answered.
func checkEveryRequestOnce(t *testing.T, what string, d resultDoc, n int) {
	t.Helper()
	if d.Concurrent == nil {
		t.Fatalf("%s: no concurrent pass", what)
	}
	seen := map[int]bool{}
	for _, r := range d.Concurrent.Requests {
		if seen[r.Index] {
			t.Errorf("%s: request %d twice", what, r.Index)
		}
		seen[r.Index] = true
		if !r.OK {
			t.Errorf("%s: request %d failed: %s", what, r.Index, r.Error)
		}
	}
	if len(seen) != n || d.Concurrent.Successful != n {
		t.Errorf("%s: %d records, %d successful; want %d", what, len(seen), d.Concurrent.Successful, n)
	}
}

// waitPhase waits until the run's progress query says phase.
func waitPhase(ctx context.Context, t *testing.T, id string, starter *proc, phase string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := tc.QueryWorkflow(qctx, id, "", workflows.ProgressQuery, 1<<30)
		cancel()
		var p testrun.Progress
		if err == nil && v.Get(&p) == nil && p.Phase == phase {
			return
		}
		select {
		case <-starter.done:
			t.Fatalf("the starter exited before the run reached phase %s\n%s", phase, starter.output())
		case <-ctx.Done():
			t.Fatalf("run %s did not reach phase %s in time (last error: %v)", id, phase, err)
		case <-tick.C:
		}
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
