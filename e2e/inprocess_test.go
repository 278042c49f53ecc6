package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/workerhost"
)

// TestInProcessWorker runs the starter binary on a task queue of its own
// (-task-queue) against a worker built in this process with workerhost.New,
// as the -dev demo does. In-process, the worker's code runs under the race
// detector when the tests run with -race.
func TestInProcessWorker(t *testing.T) {
	t.Parallel()
	key := "e2e-inprocess-key-" + randHex(8)
	// Chunks spread over the generation (PerToken) let the streams decide
	// the verdict: on a busy machine the wall-clock speedup alone can fall
	// short of "concurrent" while the streams still overlap.
	sim := simulator.New(simulator.Config{Latency: 150 * time.Millisecond, PerToken: 20 * time.Millisecond, APIKey: key, Seed: 5})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })

	taskQueue := "e2e-inprocess-" + randHex(4)
	w, err := workerhost.New(tc, workerhost.Config{APIKey: key, BaseURL: base, TaskQueue: taskQueue})
	if err != nil {
		t.Fatalf("new worker: %v", err)
	}
	if err := w.Start(); err != nil {
		t.Fatalf("start the worker: %v", err)
	}
	t.Cleanup(w.Stop)

	const n = 4
	id := "e2e-inprocess-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter, code := runStarter(t, 2*time.Minute,
		"-requests", "4", "-max-tokens", "16", "-id", id, "-task-queue", taskQueue,
		"-out", out, "-timeout", "2m", "-request-timeout", "30s")
	if code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
	}
	_, d := readDoc(t, out)
	checkCompleted(t, d, id, n)
	if d.Conclusion.Verdict != "concurrent" {
		t.Errorf("verdict = %q, want concurrent: %s", d.Conclusion.Verdict, d.Conclusion.Text)
	}
	if st := sim.Stats(); st.MaxInFlight != n || st.ChatStatusCounts[200] != 2*n+1 {
		t.Errorf("simulator: max in flight %d, chat statuses %v; want %d, %d × 200 (both passes and the warm-up)", st.MaxInFlight, st.ChatStatusCounts, n, 2*n+1)
	}
}
