package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestRepeatConfidenceInterval: -repeat 3 on an unlimited server writes a
// 95 % confidence interval of the speedup that contains the true speedup.
// With a fixed latency L, N requests and no limit, the true speedup is
// N·L / L = N, less the orchestration cost each pass pays.
func TestRepeatConfidenceInterval(t *testing.T) {
	simulatedEndpoint(t, simulator.Config{Latency: 300 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 1})
	const n = 6
	p, raw := runToJSON(t, "-requests", "6", "-max-tokens", "8", "-repeat", "3", "-id", "e2e-repeat-"+randHex(4))
	var d struct {
		WorkflowID string `json:"workflow_id"`
		Sequential struct {
			Requests []struct {
				LatencySeconds float64 `json:"latency_seconds"`
			} `json:"requests"`
		} `json:"sequential"`
		Repeat *struct {
			Runs []struct {
				WorkflowID string  `json:"workflow_id"`
				Speedup    float64 `json:"speedup"`
			} `json:"runs"`
			Speedup struct {
				Mean float64 `json:"mean"`
				Low  float64 `json:"ci95_low"`
				High float64 `json:"ci95_high"`
			} `json:"speedup"`
			SequentialSeconds *struct{ N int } `json:"sequential_seconds"`
		} `json:"repeat"`
		Conclusion struct{ Text string } `json:"conclusion"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Repeat == nil || len(d.Repeat.Runs) != 3 || d.Repeat.SequentialSeconds == nil || d.Repeat.SequentialSeconds.N != 3 {
		t.Fatalf("want 3 runs in repeat:\n%s", raw)
	}
	ids := map[string]bool{}
	for _, r := range d.Repeat.Runs {
		ids[r.WorkflowID] = true
	}
	if len(ids) != 3 || d.Repeat.Runs[2].WorkflowID != d.WorkflowID {
		t.Errorf("each repeat is its own run, and the document is the last's: %+v", d.Repeat.Runs)
	}
	ci := d.Repeat.Speedup
	if !(ci.Low <= ci.Mean && ci.Mean <= ci.High) || ci.High-ci.Low <= 0 {
		t.Errorf("malformed interval %+v", ci)
	}
	// The true speedup: every request waits its own latency (fixed per
	// prompt by the simulator's seed); sequentially they add up, concurrently
	// the pass lasts as long as the slowest. Orchestration (chaining gaps,
	// the send instant's spread) moves the measured figure by a few percent,
	// so the interval must reach within 10 % of the ideal.
	var sum, slowest float64
	for _, r := range d.Sequential.Requests {
		sum += r.LatencySeconds
		slowest = max(slowest, r.LatencySeconds)
	}
	ideal := sum / slowest
	if len(d.Sequential.Requests) != n || ci.Low > ideal*1.1 || ci.High < ideal*0.9 {
		t.Errorf("the 95%% interval %.2f–%.2f does not reach the true speedup %.2f (±10%%)", ci.Low, ci.High, ideal)
	}
	if !strings.Contains(d.Conclusion.Text, "Over 3 repeats the mean speedup") {
		t.Errorf("conclusion lacks the repeat: %q", d.Conclusion.Text)
	}
	if !strings.Contains(p.stdout.String(), "REPEATS") || strings.Count(p.stdout.String(), "REPEAT ") != 3 {
		t.Errorf("stdout lacks the repeat headers or table\n%s", p.stdout.String())
	}
}
