package report

import (
	"fmt"

	"github.com/llmconc/llmconc/stats"
)

// Repeat sums up a comparison repeated R times (-repeat R): one run each.
type Repeat struct {
	Runs []RepeatRun `json:"runs"`
	// Speedup is the mean speedup with its 95 % confidence interval
	// (Student's t over the runs).
	Speedup ConfidenceInterval `json:"speedup"`
	// SequentialSeconds and ConcurrentSeconds are the spread of each
	// pass's total over the runs.
	SequentialSeconds *stats.Summary `json:"sequential_seconds"`
	ConcurrentSeconds *stats.Summary `json:"concurrent_seconds"`
}

// RepeatRun is one run of a repeated comparison.
type RepeatRun struct {
	WorkflowID        string  `json:"workflow_id"`
	RunID             string  `json:"run_id"`
	SequentialSeconds float64 `json:"sequential_seconds"`
	ConcurrentSeconds float64 `json:"concurrent_seconds"`
	Speedup           float64 `json:"speedup"`
	Verdict           string  `json:"verdict"`
}

// ConfidenceInterval is a mean with its 95 % confidence interval.
type ConfidenceInterval struct {
	Mean   float64 `json:"mean"`
	Low95  float64 `json:"ci95_low"`
	High95 float64 `json:"ci95_high"`
}

// AddRepeat puts the summary of the repeated runs docs (last is one of them,
// the one whose details the document keeps) into last, and says it in the
// conclusion.
func AddRepeat(last *Document, docs []Document) {
	r := &Repeat{}
	var speedups, seqs, concs []float64
	for _, d := range docs {
		run := RepeatRun{WorkflowID: d.WorkflowID, RunID: d.RunID, Verdict: d.Conclusion.Verdict}
		if d.Comparison != nil {
			run.SequentialSeconds, run.ConcurrentSeconds, run.Speedup = d.Comparison.SequentialSeconds, d.Comparison.ConcurrentSeconds, d.Comparison.Speedup
			speedups = append(speedups, run.Speedup)
			seqs = append(seqs, run.SequentialSeconds)
			concs = append(concs, run.ConcurrentSeconds)
		}
		r.Runs = append(r.Runs, run)
	}
	r.Speedup.Mean, r.Speedup.Low95, r.Speedup.High95 = stats.MeanCI95(speedups)
	r.SequentialSeconds, r.ConcurrentSeconds = stats.Describe(seqs), stats.Describe(concs)
	last.Repeat = r
	if len(speedups) > 1 {
		last.Conclusion.Text += fmt.Sprintf(" Over %d repeats the mean speedup is %.2fx (95 %% confidence interval %.2f–%.2f).",
			len(speedups), r.Speedup.Mean, r.Speedup.Low95, r.Speedup.High95)
	}
}
