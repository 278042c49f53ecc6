package testrun

import (
	"fmt"

	"github.com/llmconc/llmconc/analysis"
)

// VerdictAborted is the verdict of a run that ended early.
const VerdictAborted = "aborted"

// Headline is a run's outcome in brief.
type Headline struct {
	// Verdict is the conclusion's verdict, or VerdictAborted.
	Verdict string
	// Speedup is the sequential total over the concurrent total; 0 when the
	// run did not compare the two.
	Speedup float64
	// Knee is a sweep's knee (0 when it has none or is no sweep).
	Knee int
	// Text is the headline in one line, such as "concurrent, speedup 8.20x".
	Text string
}

// HeadlineOf computes a run's headline from the pass summaries in its result
// (no per-request records needed).
func HeadlineOf(r Result) Headline {
	switch {
	case r.Aborted != "":
		return Headline{Verdict: VerdictAborted, Text: "ended early: " + r.Aborted}
	case len(r.Sweep) > 0:
		var levels []analysis.SweepLevel
		for _, p := range r.Sweep {
			levels = append(levels, analysis.LevelOf(p.Concurrency, p.Summary))
		}
		knee, levels := analysis.Knee(levels)
		c := analysis.SweepConclusion(knee, levels)
		h := Headline{Verdict: c.Verdict, Knee: knee, Text: "sweep: no knee"}
		if knee > 0 {
			h.Text = fmt.Sprintf("sweep: knee at %d", knee)
		}
		return h
	case r.Concurrent != nil && r.Concurrent.TargetRate > 0:
		// An open-loop pass (-rate) gives no verdict on concurrency (see
		// analysis.RateConclusion).
		return Headline{Verdict: analysis.VerdictInconclusive, Text: fmt.Sprintf("%s: open loop at %g/s", analysis.VerdictInconclusive, r.Concurrent.TargetRate)}
	case r.Sequential != nil && r.Concurrent != nil:
		cmp := analysis.Compare(r.Sequential.Summary, r.Concurrent.Summary)
		c := analysis.Conclude(&r.Sequential.Summary, &r.Concurrent.Summary, &cmp, r.Config.Requests, r.Config.Concurrency)
		return Headline{Verdict: c.Verdict, Speedup: cmp.Speedup, Text: fmt.Sprintf("%s, speedup %.2fx", c.Verdict, cmp.Speedup)}
	}
	return Headline{Verdict: analysis.VerdictInconclusive, Text: analysis.VerdictInconclusive + ": one pass only"}
}
