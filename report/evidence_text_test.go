package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// The terminal report names the observed server concurrency of each
// streamed pass (or why it cannot be observed), what decided the verdict,
// the warm-up apart, and the pass order of each repeat.
func TestTextShowsTheEvidence(t *testing.T) {
	var b bytes.Buffer
	tx := Text{W: &b}
	tx.PassSummary("concurrent", analysis.PassSummary{ObservedServerConcurrency: &analysis.ObservedConcurrency{Available: true, Max: 1, Mean: 0.8, P50: 1, Intervals: 6}})
	tx.PassSummary("sequential", analysis.PassSummary{ObservedServerConcurrency: &analysis.ObservedConcurrency{Reason: "the stream was buffered"}})
	tx.Conclusion(analysis.Conclusion{Verdict: analysis.VerdictSerialized, Evidence: analysis.EvidenceObserved, Text: "One at a time."})
	tx.Warmup(&Pass{Requests: []record.Request{{Index: 0, OK: true, LatencySeconds: 2.5}}})
	one := 1
	tx.RepeatTable(&Repeat{Runs: []RepeatRun{{Order: testrun.OrderSequentialFirst, Speedup: 3, ObservedMax: &one, Verdict: "serialized"},
		{Order: testrun.OrderConcurrentFirst, Speedup: 1, Verdict: "serialized"}},
		Orders: &OrderSpread{SequentialFirst: OrderRuns{Runs: 1, MeanSpeedup: 3}, ConcurrentFirst: OrderRuns{Runs: 1, MeanSpeedup: 1}, SpreadPercent: 100}})
	out := b.String()
	for _, want := range []string{
		"Server concurrency:    max 1, mean 0.80, p50 1 (observed in 6 streams)",
		"Server concurrency:    not observable: the stream was buffered",
		"Decided by: the overlap of the streamed responses",
		"WARM-UP (not measured)", "Warm-up 1: answered in 2.50s",
		"sequential", "concurrent", "By order: sequential first 3.00x (1 runs), concurrent first 1.00x (1 runs), spread +100%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "✓ Completed") {
		t.Error("a warm-up line must not read like a measured request's")
	}
}
