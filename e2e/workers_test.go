package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/workerhost"
)

// TestThreeWorkersShareTheBurst: three worker processes poll one task
// queue, the simulator runs in a process of its own, and a concurrent pass
// of 900 requests is sent by all three: the pass's shards go to whichever
// worker polls (none eagerly back to the worker that ran the workflow
// task), every record names the worker that sent it, the pass's workers
// map counts them and adds up to 900, each worker's clock offset is
// estimated, and the HTML timeline colours the requests by worker.
func TestThreeWorkersShareTheBurst(t *testing.T) {
	t.Parallel()
	const n = 900
	key := "e2e-key-" + randHex(8)
	ls := simulatorLines(t, 1, "-latency", "2s", "-api-key", key)
	i := strings.Index(ls[0], "http://")
	if i < 0 {
		t.Fatalf("the simulator did not say where it serves: %q", ls)
	}
	base := strings.TrimSpace(ls[0][i:])
	taskQueue := "e2e-workers-" + randHex(4)
	var pids []int
	for k := range 3 {
		w := startProc(t, "worker "+strconv.Itoa(k+1), workerBin, binEnv("OPENAI_API_KEY="+key, "OPENAI_BASE_URL="+base, "LLMCONC_TASK_QUEUE="+taskQueue))
		pids = append(pids, w.cmd.Process.Pid)
	}
	waitPollers(t, taskQueue, pids)

	out := filepath.Join(t.TempDir(), "result.json")
	starter, code := runStarter(t, 4*time.Minute, "-requests", strconv.Itoa(n), "-passes", "concurrent", "-max-tokens", "8",
		"-task-queue", taskQueue, "-out", out, "-yes")
	if code != 0 {
		t.Fatalf("starter exited %d\n%s", code, starter.output())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Concurrent struct {
			Successful            int                        `json:"successful"`
			Workers               map[string]int             `json:"workers"`
			ClockOffsets          map[string]json.RawMessage `json:"clock_offsets"`
			ClockOffsetMaxSeconds *float64                   `json:"clock_offset_max_seconds"`
			Requests              []struct {
				Index              int      `json:"index"`
				Worker             string   `json:"worker"`
				ClockOffsetSeconds *float64 `json:"clock_offset_seconds"`
			} `json:"requests"`
		} `json:"concurrent"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Concurrent
	if c.Successful != n || len(c.Requests) != n {
		t.Fatalf("%d of %d requests succeeded (%d records)", c.Successful, n, len(c.Requests))
	}
	total := 0
	for w, k := range c.Workers {
		total += k
		if k < 1 || !fromOneOf(w, pids) {
			t.Errorf("workers[%q] = %d: want at least 1 request, from one of the worker processes %v", w, k, pids)
		}
	}
	if len(c.Workers) != 3 || total != n {
		t.Errorf("workers = %v: want the 3 worker processes, adding up to %d", c.Workers, n)
	}
	counted := map[string]int{}
	for _, r := range c.Requests {
		counted[r.Worker]++
		if r.Worker == "" || r.ClockOffsetSeconds == nil {
			t.Errorf("request %d: worker %q, clock_offset_seconds %v; want both", r.Index, r.Worker, r.ClockOffsetSeconds)
		}
	}
	for w, k := range c.Workers {
		if counted[w] != k {
			t.Errorf("worker %q sent %d records, but the workers map says %d", w, counted[w], k)
		}
	}
	if len(c.ClockOffsets) != 3 || c.ClockOffsetMaxSeconds == nil {
		t.Errorf("clock_offsets %v, clock_offset_max_seconds %v: want an offset for each worker and the largest", c.ClockOffsets, c.ClockOffsetMaxSeconds)
	}
	html, err := os.ReadFile(strings.TrimSuffix(out, ".json") + ".html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for w := range c.Workers {
		if !strings.Contains(page, `<span class="key" data-worker="`+w+`">`) {
			t.Errorf("the HTML timeline's legend has no key for worker %q", w)
		}
	}
	if got := strings.Count(page, ` data-worker="`); got != n+3 {
		t.Errorf("the HTML names a worker %d times, want %d bars and 3 legend keys", got, n+3)
	}
}

// waitPollers waits until every process of pids polls taskQueue for
// activities (the server lists a poller whose identity starts with its
// process ID).
func waitPollers(t *testing.T, taskQueue string, pids []int) {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := tc.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		cancel()
		polling := 0
		if err == nil {
			for _, pid := range pids {
				for _, p := range resp.GetPollers() {
					if strings.HasPrefix(p.GetIdentity(), strconv.Itoa(pid)+"@") {
						polling++
						break
					}
				}
			}
		}
		if polling == len(pids) {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%d of the %d workers poll task queue %q after 60s (last error: %v)", polling, len(pids), taskQueue, err)
		case <-tick.C:
		}
	}
}

// fromOneOf reports whether a worker identity is that of one of the
// processes pids.
func fromOneOf(identity string, pids []int) bool {
	for _, pid := range pids {
		if strings.HasPrefix(identity, strconv.Itoa(pid)+"@") {
			return true
		}
	}
	return false
}

// TestWorkerClockOffsetDetected: of two workers on one task queue, one has
// a clock a second ahead of the server's (a test clock, workerhost.TestHooks):
// it fires the common instant a second early by the real clock, as the
// simulator sees, and stamps its records by its own clock. The bounds of
// its batches catch the offset: its interval holds +1 s, the other
// worker's holds 0, clock_offset_max_seconds proves more than 10 ms, and the
// conclusion says the clocks disagree.
func TestWorkerClockOffsetDetected(t *testing.T) {
	t.Parallel()
	// A second: more than the trips between the server and a worker take
	// even on a machine as busy as a CI runner under the race detector
	// (hundreds of ms at worst were seen), so that the bounds prove it.
	const skew = time.Second
	key := "e2e-clock-key-" + randHex(8)
	sim := simulator.New(simulator.Config{Latency: 500 * time.Millisecond, APIKey: key})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })

	taskQueue := "e2e-clock-" + randHex(4)
	cfg := workerhost.Config{APIKey: key, BaseURL: base, TaskQueue: taskQueue}
	for _, h := range []workerhost.TestHooks{
		{Name: "ahead", Clock: func() time.Time { return time.Now().Add(skew) }},
		{Name: "true"},
	} {
		w, err := workerhost.NewTestWorker(tc, cfg, h)
		if err != nil {
			t.Fatalf("new worker: %v", err)
		}
		if err := w.Start(); err != nil {
			t.Fatalf("start the worker: %v", err)
		}
		t.Cleanup(w.Stop)
	}
	waitIdentities(t, taskQueue, "@ahead ", "@true ")
	sim.Arrivals(true)

	out := filepath.Join(t.TempDir(), "result.json")
	starter, code := runStarter(t, 2*time.Minute, "-requests", "40", "-passes", "concurrent", "-max-tokens", "8",
		"-task-queue", taskQueue, "-out", out, "-warmup", "0", "-fire-lead", "4s")
	if code != 0 {
		t.Fatalf("starter exited %d\n%s", code, starter.output())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Concurrent struct {
			Successful   int            `json:"successful"`
			Workers      map[string]int `json:"workers"`
			ClockOffsets map[string]struct {
				LowSeconds  *float64 `json:"low_seconds"`
				HighSeconds float64  `json:"high_seconds"`
				Seconds     float64  `json:"seconds"`
			} `json:"clock_offsets"`
			ClockOffsetMaxSeconds *float64 `json:"clock_offset_max_seconds"`
		} `json:"concurrent"`
		Conclusion struct {
			Text string `json:"text"`
		} `json:"conclusion"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Concurrent
	if c.Successful != 40 || len(c.Workers) != 2 {
		t.Fatalf("%d of 40 requests succeeded, sent by workers %v: want 40, by both workers", c.Successful, c.Workers)
	}
	for w, o := range c.ClockOffsets {
		want := 0.0
		if strings.Contains(w, "@ahead ") {
			want = skew.Seconds()
		}
		if o.LowSeconds == nil || *o.LowSeconds > want || o.HighSeconds < want {
			t.Errorf("worker %q: offset bounds [%v, %v] (estimate %v), want them around %v s", w, o.LowSeconds, o.HighSeconds, o.Seconds, want)
		}
	}
	if m := c.ClockOffsetMaxSeconds; m == nil || *m <= 0.010 || *m > skew.Seconds() {
		t.Errorf("clock_offset_max_seconds = %s, want the offset proven, over 0.010 and at most %v", floatOrNone(m), skew.Seconds())
	}
	if !strings.Contains(d.Conclusion.Text, "The workers' clocks disagree: worker ") || !strings.Contains(d.Conclusion.Text, "@ahead's was +") {
		t.Errorf("the conclusion does not say that worker ahead's clock was off: %s", d.Conclusion.Text)
	}
	// The worker ahead fired early by the real clock: the server saw the
	// requests arrive further apart than the instant's own spread.
	if a := sim.Arrivals(false); a.SpreadSeconds < skew.Seconds()-0.010 {
		t.Errorf("the simulator saw the requests arrive within %.3fs, want at least %v: one worker fired early by its clock", a.SpreadSeconds, skew)
	}
}

// waitIdentities waits until, for each of parts, a worker whose identity
// holds it polls taskQueue for activities.
func waitIdentities(t *testing.T, taskQueue string, parts ...string) {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := tc.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		cancel()
		found := 0
		for _, part := range parts {
			for _, p := range resp.GetPollers() {
				if strings.Contains(p.GetIdentity(), part) {
					found++
					break
				}
			}
		}
		if err == nil && found == len(parts) {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%d of the workers %q poll task queue %q after 60s (last error: %v)", found, parts, taskQueue, err)
		case <-tick.C:
		}
	}
}

func floatOrNone(p *float64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}
