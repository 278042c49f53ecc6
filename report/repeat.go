package report

import (
	"cmp"
	"fmt"
	"math"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/stats"
	"github.com/llmconc/llmconc/testrun"
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
	// Orders compares the runs by the order of their passes (the repeats
	// alternate it: sequential first, then concurrent first, ...). Absent
	// when not both orders ran.
	Orders *OrderSpread `json:"orders,omitempty"`
}

// OrderSpread compares the speedups of the runs that sent the sequential
// pass first with those that sent the concurrent pass first. When the
// endpoint's speed drifts steadily, the pass sent later is measured at
// another speed, which inflates the speedup in one order and deflates it in
// the other; the mean over both orders cancels a steady drift, and the
// spread between them shows how large it was.
type OrderSpread struct {
	SequentialFirst OrderRuns `json:"sequential_first"`
	ConcurrentFirst OrderRuns `json:"concurrent_first"`
	// SpreadSpeedup is the sequential-first mean speedup minus the
	// concurrent-first one.
	SpreadSpeedup float64 `json:"spread_speedup"`
	// SpreadPercent is SpreadSpeedup as a percentage of the mean of the
	// two orders' means.
	SpreadPercent float64 `json:"spread_percent"`
}

// OrderRuns sums up the runs of one pass order.
type OrderRuns struct {
	Runs        int     `json:"runs"`
	MeanSpeedup float64 `json:"mean_speedup"`
}

// OrderDriftPercent is the spread between the orders' mean speedups above
// which the conclusion says that the endpoint's speed drifted.
const OrderDriftPercent = 20

// RepeatRun is one run of a repeated comparison.
type RepeatRun struct {
	WorkflowID        string  `json:"workflow_id"`
	RunID             string  `json:"run_id"`
	SequentialSeconds float64 `json:"sequential_seconds"`
	ConcurrentSeconds float64 `json:"concurrent_seconds"`
	Speedup           float64 `json:"speedup"`
	Verdict           string  `json:"verdict"`
	// Evidence is what decided the run's verdict (see
	// analysis.Conclusion).
	Evidence string `json:"evidence,omitempty"`
	// Order is the order of the run's passes.
	Order string `json:"order"`
	// ObservedMax is the concurrent pass's observed server concurrency
	// max, when available.
	ObservedMax *int `json:"observed_max,omitempty"`
}

// FirstPass is the name of the pass the run sent first.
func (r RepeatRun) FirstPass() record.Pass {
	if r.Order == testrun.OrderConcurrentFirst {
		return record.PassConcurrent
	}
	return record.PassSequential
}

// ConfidenceInterval is a mean with its 95 % confidence interval.
type ConfidenceInterval struct {
	Mean   float64 `json:"mean"`
	Low95  float64 `json:"ci95_low"`
	High95 float64 `json:"ci95_high"`
}

// AddRepeat puts the summary of the repeated runs docs (last is one of them,
// the one whose details the document keeps) into last, and says it in the
// conclusion. The verdict is the runs' common verdict; when they disagree,
// the verdict of the runs decided by observed server concurrency if those
// agree, and otherwise inconclusive.
func AddRepeat(last *Document, docs []Document) {
	r := &Repeat{}
	var speedups, seqs, concs []float64
	var bySeqFirst, byConcFirst []float64
	for _, d := range docs {
		run := repeatRunOf(d)
		r.Runs = append(r.Runs, run)
		if d.Comparison == nil {
			continue
		}
		speedups = append(speedups, run.Speedup)
		seqs = append(seqs, run.SequentialSeconds)
		concs = append(concs, run.ConcurrentSeconds)
		if run.Order == testrun.OrderConcurrentFirst {
			byConcFirst = append(byConcFirst, run.Speedup)
		} else {
			bySeqFirst = append(bySeqFirst, run.Speedup)
		}
	}
	r.Speedup.Mean, r.Speedup.Low95, r.Speedup.High95 = stats.MeanCI95(speedups)
	r.SequentialSeconds, r.ConcurrentSeconds = stats.Describe(seqs), stats.Describe(concs)
	r.Orders = orderSpread(bySeqFirst, byConcFirst)
	last.Repeat = r
	if len(docs) > 1 {
		last.Conclusion = repeatVerdict(last.Conclusion, r.Runs)
	}
	last.Conclusion.Text += repeatText(r, len(speedups))
}

// repeatRunOf is the line of a run's document in the repeat table.
func repeatRunOf(d Document) RepeatRun {
	run := RepeatRun{WorkflowID: d.WorkflowID, RunID: d.RunID, Verdict: d.Conclusion.Verdict, Evidence: d.Conclusion.Evidence,
		Order: cmp.Or(d.Config.Order, testrun.OrderSequentialFirst)}
	if d.Concurrent != nil {
		if o := d.Concurrent.ObservedServerConcurrency; o != nil && o.Available {
			m := o.Max
			run.ObservedMax = &m
		}
	}
	if d.Comparison != nil {
		run.SequentialSeconds, run.ConcurrentSeconds, run.Speedup = d.Comparison.SequentialSeconds, d.Comparison.ConcurrentSeconds, d.Comparison.Speedup
	}
	return run
}

// orderSpread compares the speedups of the runs of each pass order; nil
// unless both orders ran.
func orderSpread(bySeqFirst, byConcFirst []float64) *OrderSpread {
	if len(bySeqFirst) == 0 || len(byConcFirst) == 0 {
		return nil
	}
	o := &OrderSpread{
		SequentialFirst: OrderRuns{Runs: len(bySeqFirst), MeanSpeedup: mean(bySeqFirst)},
		ConcurrentFirst: OrderRuns{Runs: len(byConcFirst), MeanSpeedup: mean(byConcFirst)},
	}
	o.SpreadSpeedup = o.SequentialFirst.MeanSpeedup - o.ConcurrentFirst.MeanSpeedup
	if m := (o.SequentialFirst.MeanSpeedup + o.ConcurrentFirst.MeanSpeedup) / 2; m > 0 {
		o.SpreadPercent = 100 * o.SpreadSpeedup / m
	}
	return o
}

// repeatText is what the conclusion says of the repeats: the mean speedup
// over the compared runs, and the spread between the orders.
func repeatText(r *Repeat, compared int) string {
	text := ""
	if compared > 1 {
		text += fmt.Sprintf(" Over %d repeats the mean speedup is %.2fx (95 %% confidence interval %.2f–%.2f).",
			compared, r.Speedup.Mean, r.Speedup.Low95, r.Speedup.High95)
	}
	if o := r.Orders; o != nil {
		text += fmt.Sprintf(" Sequential pass first: mean speedup %.2fx over %d runs; concurrent pass first: %.2fx over %d; spread %+.0f%%.",
			o.SequentialFirst.MeanSpeedup, o.SequentialFirst.Runs, o.ConcurrentFirst.MeanSpeedup, o.ConcurrentFirst.Runs, o.SpreadPercent)
		if math.Abs(o.SpreadPercent) > OrderDriftPercent {
			text += fmt.Sprintf(" The order changed the speedup by more than %d%%: the endpoint's speed drifted during the runs, so any single run's speedup is unreliable.", OrderDriftPercent)
		}
	}
	return text
}

// repeatVerdict is the verdict of repeated runs: their common verdict, or,
// when they disagree, that of the runs decided by observed server
// concurrency when those agree; otherwise inconclusive.
func repeatVerdict(c analysis.Conclusion, runs []RepeatRun) analysis.Conclusion {
	all, observed := map[string]int{}, map[string]int{}
	for _, r := range runs {
		all[r.Verdict]++
		if r.Evidence == analysis.EvidenceObserved {
			observed[r.Verdict]++
		}
	}
	if len(all) == 1 {
		return c
	}
	list := countLine(all, nil)
	if len(observed) == 1 {
		for v := range observed {
			return analysis.Conclusion{Verdict: v, Evidence: analysis.EvidenceObserved, Text: fmt.Sprintf(
				"The repeats disagreed (%s); the %d decided by the streams' observed server concurrency all say %s, and the wall-clock speedup of the others is not to be trusted over them. The last run said: %s",
				list, observed[v], v, c.Text)}
		}
	}
	return analysis.Conclusion{Verdict: analysis.VerdictInconclusive, Evidence: analysis.EvidenceNone, Text: fmt.Sprintf(
		"The repeats disagreed (%s), so the endpoint's behaviour is not stable enough for one verdict. The last run said: %s", list, c.Text)}
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
