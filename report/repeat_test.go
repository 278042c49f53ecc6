package report

import (
	"math"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
)

func TestAddRepeat(t *testing.T) {
	doc := func(id string, seq, conc float64) Document {
		return Document{WorkflowID: id, Comparison: &analysis.Comparison{SequentialSeconds: seq, ConcurrentSeconds: conc, Speedup: seq / conc},
			Conclusion: analysis.Conclusion{Verdict: analysis.VerdictConcurrent, Text: "Fine."}}
	}
	docs := []Document{doc("r1", 20, 2), doc("r2", 22, 2), doc("r3", 24, 2)}
	last := docs[2]
	AddRepeat(&last, docs)
	r := last.Repeat
	if r == nil || len(r.Runs) != 3 || r.Runs[1].WorkflowID != "r2" || r.Runs[1].Speedup != 11 {
		t.Fatalf("runs: %+v", r)
	}
	// Speedups 10, 11, 12: mean 11, s = 1, t(2) = 4.303 → ±2.484.
	if math.Abs(r.Speedup.Mean-11) > 1e-9 || math.Abs(r.Speedup.Low95-(11-4.302653/math.Sqrt(3))) > 1e-4 || math.Abs(r.Speedup.High95-(11+4.302653/math.Sqrt(3))) > 1e-4 {
		t.Errorf("speedup CI: %+v", r.Speedup)
	}
	if r.SequentialSeconds.Min != 20 || r.SequentialSeconds.Max != 24 || r.ConcurrentSeconds.Stddev != 0 {
		t.Errorf("pass totals' spread: seq %+v conc %+v", r.SequentialSeconds, r.ConcurrentSeconds)
	}
	if !strings.Contains(last.Conclusion.Text, "Over 3 repeats the mean speedup is 11.00x (95 % confidence interval 8.52–13.48)") {
		t.Errorf("conclusion: %q", last.Conclusion.Text)
	}
}
