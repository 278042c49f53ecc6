package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// Nothing lost when processes die: a worker killed mid-batch, the Temporal
// server restarted mid-run, the starter killed mid-run, a worker stopped
// with SIGTERM mid-batch. In every case each request of a pass appears once
// in the result JSON, and the summaries count it once.

// crashRunArgs is a concurrent pass of 6 requests, 3 at a time, in one
// batch: with a 3 s latency the batch answers 3 requests at about 3.5 s
// and has the other 3 in flight until about 6.5 s, which leaves time to
// break something between the two waves.
func crashRunArgs(id, out string) []string {
	return []string{"-warmup", "0", "-stream=false", "-requests", "6", "-concurrency", "3", "-shards", "1", "-passes", "concurrent",
		"-max-tokens", "16", "-id", id, "-out", out, "-html", "none", "-timeout", "5m", "-request-timeout", "1m"}
}

const crashLatency = 3 * time.Second

// crashDoc is the part of the result JSON that these tests check, read by
// the documented names.
type crashDoc struct {
	Config struct {
		Requests int `json:"requests"`
	} `json:"config"`
	Concurrent *struct {
		Successful            int           `json:"successful"`
		Failed                int           `json:"failed"`
		SentAfterWorkerLoss   int           `json:"sent_after_worker_loss"`
		ResentAfterWorkerLoss int           `json:"resent_after_worker_loss"`
		Requests              []crashRecord `json:"requests"`
	} `json:"concurrent"`
	Conclusion struct {
		Verdict string `json:"verdict"`
		Text    string `json:"text"`
	} `json:"conclusion"`
	Error string `json:"error"`
}

type crashRecord struct {
	Index                int     `json:"index"`
	OK                   bool    `json:"ok"`
	HTTPStatus           int     `json:"http_status"`
	SentAt               string  `json:"sent_at"`
	Response             string  `json:"response"`
	Attempt              int     `json:"attempt"`
	ActivityAttempt      int     `json:"activity_attempt"`
	Resent               bool    `json:"resent"`
	DispatchDelaySeconds float64 `json:"dispatch_delay_seconds"`
}

// readCrashDoc reads a result file and checks what every scenario
// guarantees: the concurrent pass has one successful record per request,
// by index, each counted once by the summary, and the summary's counts of
// requests sent after a worker loss match the records. It returns the
// records by index.
func readCrashDoc(t *testing.T, path string, n int) (crashDoc, map[int]crashRecord) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the result JSON: %v", err)
	}
	var d crashDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode the result JSON: %v\n%s", err, b)
	}
	if d.Error != "" {
		t.Errorf("error = %q, want none", d.Error)
	}
	p := d.Concurrent
	if p == nil {
		t.Fatalf("no concurrent pass in the JSON:\n%s", b)
	}
	if d.Config.Requests != n || p.Successful+p.Failed != n || p.Successful != n {
		t.Errorf("requests %d; summary: %d successful + %d failed; want %d, each counted once, all successful", d.Config.Requests, p.Successful, p.Failed, n)
	}
	byIndex := map[int]crashRecord{}
	late, resent := 0, 0
	for i, r := range p.Requests {
		if r.Index != i {
			t.Errorf("record %d has index %d: want one record per request, by index", i, r.Index)
		}
		if _, dup := byIndex[r.Index]; dup {
			t.Errorf("request %d recorded twice", r.Index)
		}
		byIndex[r.Index] = r
		if !r.OK || r.HTTPStatus != 200 || r.Response == "" {
			t.Errorf("request %d: ok %v, status %d, response %q; want a complete answer", r.Index, r.OK, r.HTTPStatus, r.Response)
		}
		if r.Attempt != 1 || r.ActivityAttempt < 1 {
			t.Errorf("request %d: attempt %d, activity_attempt %d; want 1 and at least 1", r.Index, r.Attempt, r.ActivityAttempt)
		}
		if r.ActivityAttempt > 1 {
			late++
		}
		if r.Resent {
			resent++
		}
	}
	if len(byIndex) != n {
		t.Errorf("%d requests recorded, want %d", len(byIndex), n)
	}
	if p.SentAfterWorkerLoss != late || p.ResentAfterWorkerLoss != resent {
		t.Errorf("summary: sent_after_worker_loss %d, resent_after_worker_loss %d; the records say %d and %d",
			p.SentAfterWorkerLoss, p.ResentAfterWorkerLoss, late, resent)
	}
	return d, byIndex
}

// crashSimulator starts a simulator with a fixed latency under a fresh key.
func crashSimulator(t *testing.T) (sim *simulator.Server, key, base string) {
	t.Helper()
	key = "e2e-crash-key-" + randHex(8)
	sim = simulator.New(simulator.Config{Latency: crashLatency, APIKey: key, Seed: 11})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, key, base
}

// chatRequests is the number of requests the simulator has answered or
// given up on, and the number answered 200.
func chatRequests(sim *simulator.Server) (total, ok int) {
	for status, n := range sim.Stats().ChatStatusCounts {
		total += n
		if status == 200 {
			ok += n
		}
	}
	return total, ok
}

// batchProgress is the last heartbeat of the run's running batch.
type batchProgress struct {
	activities.SendProgress
	Attempt int32
	// Fresh says that the attempt itself heartbeated: until it does, the
	// details are those of the previous attempt.
	Fresh bool
}

// waitBatchProgress polls the run's pending batch activity until its last
// heartbeat satisfies cond, and returns it. It fails the test if the starter
// exits first or at ctx's deadline.
func waitBatchProgress(ctx context.Context, t *testing.T, c client.Client, id string, starter *proc, cond func(batchProgress) bool) batchProgress {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last batchProgress
	var lastErr error
	for {
		// No description yet (the run not started, or the server busy): no
		// pending activities this time.
		var raw *workflowservice.DescribeWorkflowExecutionResponse
		desc, err := c.DescribeWorkflow(ctx, id, "")
		if err == nil {
			raw = desc.RawResponse
		} else if !errors.As(err, new(*serviceerror.NotFound)) {
			lastErr = err
		}
		for _, pa := range raw.GetPendingActivities() {
			if pa.GetActivityType().GetName() != activities.SendActivity || pa.GetHeartbeatDetails() == nil {
				continue
			}
			var p batchProgress
			if err := dc.FromPayloads(pa.GetHeartbeatDetails(), &p.SendProgress); err != nil {
				t.Fatalf("the batch's heartbeat details do not decode as SendProgress: %v", err)
			}
			p.Attempt = pa.GetAttempt()
			p.Fresh = pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED &&
				pa.GetLastHeartbeatTime().AsTime().After(pa.GetLastStartedTime().AsTime())
			last = p
			if cond(p) {
				return p
			}
		}
		select {
		case <-starter.done:
			t.Fatalf("the starter exited before the batch got there (last heartbeat %+v)\n%s", last, starter.output())
		case <-ctx.Done():
			t.Fatalf("the batch's heartbeat never got there; last heartbeat %+v, last error %v", last, lastErr)
		case <-tick.C:
		}
	}
}

// midBatch is the moment to break things: 3 requests answered (and
// heartbeated), 3 sent and waiting for their answers.
func midBatch(p batchProgress) bool { return len(p.Records) == 3 && len(p.InFlight) == 3 }

// kill9 kills a process at once, as a crash would, and waits for it.
func (p *proc) kill9() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// TestWorkerKilledMidBatch kills the worker (SIGKILL) while the concurrent
// pass's batch has 3 requests answered and 3 in flight, then starts another
// worker. Temporal notices the lost worker by the batch's missing
// heartbeats and retries the batch there; the retry keeps the 3 answers of
// the last heartbeat and sends only the 3 others again. Each request is in
// the JSON once, the resent ones say so, and no verdict is drawn from the
// disturbed pass.
func TestWorkerKilledMidBatch(t *testing.T) {
	sim, key, base := crashSimulator(t)
	first := startWorker(t, key, base)
	id := "e2e-crash-worker-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, binEnv(), crashRunArgs(id, out)...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hb := waitBatchProgress(ctx, t, tc, id, starter, midBatch)
	first.kill9()
	killedAt := time.Now()
	startWorker(t, key, base)

	if code := starter.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
	}
	d, recs := readCrashDoc(t, out, 6)
	for _, kept := range hb.Records {
		r := recs[kept.Index]
		if r.ActivityAttempt != 1 || r.Resent || r.SentAt != kept.SentAt.Format(time.RFC3339Nano) {
			t.Errorf("request %d, answered before the kill: activity_attempt %d, resent %v, sent_at %s; want the heartbeated record (attempt 1, sent_at %s), not a resend",
				kept.Index, r.ActivityAttempt, r.Resent, r.SentAt, kept.SentAt)
		}
	}
	for _, idx := range hb.InFlight {
		r := recs[idx]
		if r.ActivityAttempt != 2 || !r.Resent {
			t.Errorf("request %d, in flight at the kill: activity_attempt %d, resent %v; want 2 and resent", idx, r.ActivityAttempt, r.Resent)
		}
		if sent, err := time.Parse(time.RFC3339Nano, r.SentAt); err != nil || !sent.After(killedAt) {
			t.Errorf("request %d: sent_at %q, want after the kill at %s", idx, r.SentAt, killedAt.UTC().Format(time.RFC3339Nano))
		}
		if r.DispatchDelaySeconds < crashLatency.Seconds() {
			t.Errorf("request %d: dispatch_delay_seconds %.3f; the resend left long after the common instant", idx, r.DispatchDelaySeconds)
		}
	}
	if p := d.Concurrent; p.SentAfterWorkerLoss != 3 || p.ResentAfterWorkerLoss != 3 {
		t.Errorf("summary: sent_after_worker_loss %d, resent_after_worker_loss %d; want 3 and 3", p.SentAfterWorkerLoss, p.ResentAfterWorkerLoss)
	}
	if d.Conclusion.Verdict != "inconclusive" || !strings.Contains(d.Conclusion.Text, "worker was lost") {
		t.Errorf("conclusion %+v: want inconclusive because a worker was lost", d.Conclusion)
	}
	if !strings.Contains(starter.stdout.String(), "3 sent late by a retried batch, 3 of them a second time") {
		t.Errorf("the starter's report does not say what the lost worker cost:\n%s", starter.output())
	}
	// The endpoint saw the 3 answered requests once and the 3 others twice:
	// the killed worker's sends got no answer, the retry's got theirs.
	if total, ok := chatRequests(sim); total != 9 || ok != 6 {
		t.Errorf("simulator: %d requests, %d answered 200; want 9 and 6", total, ok)
	}
}

// TestServerRestartedMidBatch runs its own dev server, keeping its state in
// a file, and crashes and restarts it while the concurrent pass's batch has
// 3 requests answered and 3 in flight. Worker and starter reconnect on
// their own; the run completes with each request once.
func TestServerRestartedMidBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{UIPort: -1, DBFile: filepath.Join(t.TempDir(), "temporal.db"), Log: io.Discard})
	if err != nil {
		t.Fatalf("start a dev server of the test's own: %v", err)
	}
	t.Cleanup(srv.Stop)
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address, Logger: temporalenv.QuietLogger(io.Discard)})
	if err != nil {
		t.Fatalf("dial the test's dev server: %v", err)
	}
	defer c.Close()
	env := func(extra ...string) []string {
		return append(envAt(srv.Address), extra...)
	}

	sim, key, base := crashSimulator(t)
	startProc(t, "worker", workerBin, env("OPENAI_API_KEY="+key, "OPENAI_BASE_URL="+base))
	id := "e2e-crash-server-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, env(), crashRunArgs(id, out)...)

	waitBatchProgress(ctx, t, c, id, starter, midBatch)
	if err := srv.Restart(ctx, true); err != nil {
		t.Fatalf("restart the dev server: %v", err)
	}
	restartedAt := time.Now()

	if code := starter.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
	}
	d, _ := readCrashDoc(t, out, 6)
	desc, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatalf("describe the run on the restarted server: %v", err)
	}
	if closed := desc.RawResponse.GetWorkflowExecutionInfo().GetCloseTime().AsTime(); !closed.After(restartedAt) {
		t.Errorf("the run closed at %s, before the restart at %s: the test did not restart the server mid-run", closed, restartedAt)
	}
	t.Logf("after the restart: %d requests sent by a retried batch, %d of them resent", d.Concurrent.SentAfterWorkerLoss, d.Concurrent.ResentAfterWorkerLoss)
	// Each send reached the endpoint once: the 6 requests, and any that a
	// batch retried after the restart had to send again.
	if total, _ := chatRequests(sim); total != 6+d.Concurrent.ResentAfterWorkerLoss {
		t.Errorf("simulator saw %d requests; want 6 + %d resent", total, d.Concurrent.ResentAfterWorkerLoss)
	}
}

// envAt is binEnv with Temporal at addr instead of the shared dev server.
func envAt(addr string, extra ...string) []string {
	env := binEnv(extra...)
	for i, kv := range env {
		if strings.HasPrefix(kv, "TEMPORAL_ADDRESS=") {
			env[i] = "TEMPORAL_ADDRESS=" + addr
		}
	}
	return env
}

// TestStarterKilledMidRun kills the starter (SIGKILL) during the sequential
// pass: it writes nothing. `starter -attach ID` then follows the run that
// went on in Temporal, shows every request from the first, and writes the
// complete JSON, the same as `starter result` rebuilds from the history.
func TestStarterKilledMidRun(t *testing.T) {
	key := "e2e-crash-starter-key-" + randHex(8)
	sim := simulator.New(simulator.Config{Latency: time.Second, APIKey: key, Seed: 12})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	startWorker(t, key, base)

	const n = 3
	id := "e2e-crash-starter-" + randHex(4)
	dir := t.TempDir()
	killedOut, attachOut, resultOut := filepath.Join(dir, "killed.json"), filepath.Join(dir, "attach.json"), filepath.Join(dir, "result.json")
	first := startProc(t, "starter", starterBin, binEnv(),
		"-warmup", "0", "-stream=false", "-requests", fmt.Sprint(n), "-max-tokens", "16", "-id", id, "-out", killedOut, "-html", "none", "-timeout", "2m", "-request-timeout", "30s")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitRunning(ctx, t, id, first)
	waitDone(ctx, t, id, func(p testrun.Progress) bool { return p.Sequential.Done >= 1 })
	first.kill9()
	if _, err := os.Stat(killedOut); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed starter left %s (stat: %v); it was killed before the run's end", killedOut, err)
	}

	attachedAt := time.Now()
	attached, code := runStarter(t, 2*time.Minute, "-attach", id, "-out", attachOut, "-html", "none")
	if code != 0 {
		t.Fatalf("attached starter exited %d, want 0\n%s", code, attached.output())
	}
	desc, err := tc.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatalf("describe the run: %v", err)
	}
	if closed := desc.RawResponse.GetWorkflowExecutionInfo().GetCloseTime().AsTime(); !closed.After(attachedAt) {
		t.Errorf("the run closed at %s, before the starter attached at %s: the test did not attach to a running run", closed, attachedAt)
	}
	if got := strings.Count(attached.stdout.String(), "✓ Completed in"); got != 2*n {
		t.Errorf("the attached starter showed %d completed requests, want all %d, those before it attached too\n%s", got, 2*n, attached.output())
	}
	attachRaw, attachDoc := readDoc(t, attachOut)
	checkCompleted(t, attachDoc, id, n)

	rebuilt, code := runStarter(t, time.Minute, "result", "-out", resultOut, "-html", "none", id)
	if code != 0 {
		t.Fatalf("starter result exited %d, want 0\n%s", code, rebuilt.output())
	}
	resultRaw, resultDoc := readDoc(t, resultOut)
	sameResult(t, "rebuilt from the history", attachRaw, attachDoc, resultRaw, resultDoc)
	if total, _ := chatRequests(sim); total != 2*n {
		t.Errorf("simulator saw %d requests, want %d: neither the kill nor attaching may send any", total, 2*n)
	}
}

// waitDone polls the run's progress query until cond holds.
func waitDone(ctx context.Context, t *testing.T, id string, cond func(testrun.Progress) bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last testrun.Progress
	for {
		if v, err := tc.QueryWorkflow(ctx, id, "", workflows.ProgressQuery, 0); err == nil {
			if err := v.Get(&last); err == nil && cond(last) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %s never got there; last progress: phase %s, sequential %d/%d, concurrent %d/%d", id, last.Phase,
				last.Sequential.Done, last.Sequential.Total, last.Concurrent.Done, last.Concurrent.Total)
		case <-tick.C:
		}
	}
}

// TestWorkerSIGTERMFinishesItsBatch stops the worker with SIGTERM while
// the concurrent pass's 4 requests are in flight: it stops taking work but
// lets the batch finish and report before it exits. Another worker then
// completes the run, which has every request once, none sent twice.
func TestWorkerSIGTERMFinishesItsBatch(t *testing.T) {
	sim, key, base := crashSimulator(t)
	first := startWorker(t, key, base)
	id := "e2e-crash-sigterm-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, binEnv(), "-warmup", "0", "-stream=false", "-requests", "4", "-shards", "2", "-passes", "concurrent",
		"-max-tokens", "16", "-id", id, "-out", out, "-html", "none", "-timeout", "5m", "-request-timeout", "1m")

	// All 4 requests at the simulator, none answered yet.
	waitSimulator(t, sim, starter, func(st simulator.Stats) bool { return st.ChatRequests == 4 && len(st.ChatStatusCounts) == 0 })
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t, 45*time.Second); code != 0 {
		t.Errorf("worker exited %d on SIGTERM, want 0\n%s", code, first.output())
	}
	if total, ok := chatRequests(sim); total != 4 || ok != 4 {
		t.Errorf("when the stopped worker exited, the simulator had answered %d of %d requests with 200; want all 4: the batch in flight must finish first", ok, total)
	}
	if s := first.stderr.String(); !strings.Contains(s, "worker: terminated: taking no new work; batches in flight finish first") || !strings.Contains(s, "worker: stopped") {
		t.Errorf("the stopped worker does not say that it lets its batches finish, then stopped:\n%s", s)
	}
	if s := first.stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("the stopped worker's stderr holds a stack trace:\n%s", s)
	}

	startWorker(t, key, base)
	if code := starter.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
	}
	d, recs := readCrashDoc(t, out, 4)
	for idx, r := range recs {
		if r.ActivityAttempt != 1 || r.Resent {
			t.Errorf("request %d: activity_attempt %d, resent %v; want the stopped worker's own answer", idx, r.ActivityAttempt, r.Resent)
		}
	}
	if d.Concurrent.SentAfterWorkerLoss != 0 {
		t.Errorf("sent_after_worker_loss = %d, want 0: a graceful stop loses no worker", d.Concurrent.SentAfterWorkerLoss)
	}
	if total, _ := chatRequests(sim); total != 4 || sim.Stats().ChatRequests != 4 {
		t.Errorf("simulator saw %d chat requests (%d answered or given up), want 4: nothing may be sent twice", sim.Stats().ChatRequests, total)
	}
}

// waitSimulator polls the simulator's counters until cond holds. It fails
// the test if an answer arrives first, if the starter exits, or after a
// minute.
func waitSimulator(t *testing.T, sim *simulator.Server, starter *proc, cond func(simulator.Stats) bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(time.Minute)
	for {
		st := sim.Stats()
		if cond(st) {
			return
		}
		if len(st.ChatStatusCounts) > 0 {
			t.Fatalf("the simulator answered before the test could act: %+v", st)
		}
		select {
		case <-starter.done:
			t.Fatalf("the starter exited first\n%s", starter.output())
		case <-timeout:
			t.Fatalf("the simulator never got there: %+v", st)
		case <-tick.C:
		}
	}
}

// TestBatchLostOnEveryAttempt kills the worker mid-batch on each of the
// batch's 3 attempts, so that the batch fails for good. The 3 answers of
// the last heartbeat are measured records, and the run's result leaves
// them in the history (the batch's timeout holds that heartbeat), where
// the starter reads them: the JSON has them with their answers, and the 3
// requests in flight as failed, each request once.
func TestBatchLostOnEveryAttempt(t *testing.T) {
	sim, key, base := crashSimulator(t)
	worker := startWorker(t, key, base)
	id := "e2e-crash-lost-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, binEnv(), crashRunArgs(id, out)...)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var hb batchProgress
	for attempt := int32(1); attempt <= 3; attempt++ {
		hb = waitBatchProgress(ctx, t, tc, id, starter, func(p batchProgress) bool {
			return p.Attempt == attempt && p.Fresh && len(p.Records) == 3 && len(p.InFlight) == 3
		})
		worker.kill9()
		worker = startWorker(t, key, base)
	}

	if code := starter.wait(t, 2*time.Minute); code != 0 {
		t.Errorf("starter exited %d, want 0: the run completed, with failed requests (docs/cli.md)\n%s", code, starter.output())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("read the result JSON: %v\n%s", err, starter.output())
	}
	var d crashDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	p := d.Concurrent
	if p == nil || len(p.Requests) != 6 || p.Successful != 3 || p.Failed != 3 {
		t.Fatalf("want 6 records, 3 answered and 3 failed; got %s", b)
	}
	kept := map[int]bool{}
	for _, r := range hb.Records {
		kept[r.Index] = true
	}
	for i, r := range p.Requests {
		switch {
		case r.Index != i:
			t.Errorf("record %d has index %d", i, r.Index)
		case kept[r.Index] && (!r.OK || r.Response == "" || r.ActivityAttempt != 1):
			t.Errorf("request %d, answered in the first attempt and heartbeated: ok %v, response %q, activity_attempt %d; want its measured record",
				r.Index, r.OK, r.Response, r.ActivityAttempt)
		case !kept[r.Index] && r.OK:
			t.Errorf("request %d, in flight at every kill: ok; want failed", r.Index)
		}
	}
	// The 3 answered once; the 3 others sent by each attempt, never answered.
	if total := sim.Stats().ChatRequests; total != 12 {
		t.Errorf("simulator saw %d chat requests, want 3 + 3 × 3", total)
	}
}
