package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/llmconc/llmconc/record"
)

// A trend is the runs of one series (the runs of a schedule, or of one
// endpoint and model), oldest first, and what changed among them
// (docs/schedules.md#what-changed says how it is decided).

// TrendRun is one run of a trend. A figure the run does not have is NaN:
// the speedup and the effective parallelism without both passes, the
// latencies without a successful request in the concurrent pass.
type TrendRun struct {
	WorkflowID string
	Start      time.Time
	// Verdict is the run's verdict; "" for a run without a result
	// (terminated, timed out, unreadable), Note saying why.
	Verdict string
	// Note says what is special about the run: it ended early, it has no
	// result. "" for most runs.
	Note                   string
	Speedup, Parallelism   float64
	LatencyP50, LatencyP95 float64 // seconds, the concurrent pass's successful requests
	// RateLimited counts the HTTP 429 answers of the run's passes, the
	// tries that -retry backoff sent again included.
	RateLimited int
	// Setup names what the run measured (requests, concurrency, max
	// tokens, streaming): runs of different setups compare loosely.
	Setup string
}

// HasResult reports whether the run has figures.
func (r TrendRun) HasResult() bool { return r.Verdict != "" }

// RateLimitedAnswers counts the HTTP 429 answers among recs: each try of a
// request sent more than once, else the request's own status.
func RateLimitedAnswers(recs []record.Request) int {
	n := 0
	for _, r := range recs {
		if len(r.Attempts) == 0 {
			if r.HTTPStatus == 429 {
				n++
			}
			continue
		}
		for _, a := range r.Attempts {
			if a.HTTPStatus == 429 {
				n++
			}
		}
	}
	return n
}

// The rule for a lasting change of a figure (a step): the split of the
// runs into an earlier and a later part that fits them best, and the
// change between the parts' medians when it is large and clear.
const (
	// TrendMinChange is the smallest change of a figure's median,
	// relative to its earlier median, that counts as a change.
	TrendMinChange = 0.25
	// TrendNoiseFactor: the parts' means must be this many pooled
	// standard deviations (the spread within the parts) apart.
	TrendNoiseFactor = 2.0
	// TrendMinRuns is the fewest runs with a figure in which a step of it
	// is looked for: two runs say nothing of the noise.
	TrendMinRuns = 3
)

// TrendStep is a lasting change of a figure: from Before, the median of
// the runs before run At, to After, the median of the runs from At on.
type TrendStep struct {
	At            int // the index of the first run after the change
	Before, After float64
	// AfterRuns counts the values from At on: 1 when the change is the
	// latest run's alone, so far.
	AfterRuns int
}

// FindStep finds the step in values, in order (NaN values are skipped; At
// is an index into values). It splits the values at the point that
// minimizes the sum of the squared deviations of each part from its mean
// (the least-squares change point; of equal fits, the latest), and reports
// a step when the parts' medians differ by at least TrendMinChange of the
// earlier one and their means by at least TrendNoiseFactor pooled standard
// deviations. Fewer than TrendMinRuns values have no step.
func FindStep(values []float64) (TrendStep, bool) {
	var idx []int
	var v []float64
	for i, x := range values {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			idx, v = append(idx, i), append(v, x)
		}
	}
	n := len(v)
	if n < TrendMinRuns {
		return TrendStep{}, false
	}
	best, bestCost := 0, math.Inf(1)
	for k := 1; k < n; k++ {
		if c := sse(v[:k]) + sse(v[k:]); c <= bestCost*(1+1e-12)+1e-12 {
			best, bestCost = k, c
		}
	}
	before, after := v[:best], v[best:]
	s := TrendStep{At: idx[best], Before: median(before), After: median(after), AfterRuns: len(after)}
	if math.Abs(s.After-s.Before) < TrendMinChange*math.Abs(s.Before) || s.After == s.Before {
		return s, false
	}
	pooled := math.Sqrt(bestCost / float64(n-2))
	return s, math.Abs(mean(after)-mean(before)) >= TrendNoiseFactor*pooled
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// sse is the sum of the squared deviations of v from its mean.
func sse(v []float64) float64 {
	m, s := mean(v), 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return s
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TrendFigure is one figure a trend follows.
type TrendFigure struct {
	Name   string                 // as the closing line says it
	Of     func(TrendRun) float64 // the run's value, NaN when it has none
	Format func(float64) string
}

// TrendFigures are the figures whose steps a trend reports, in the order
// the closing line gives them.
var TrendFigures = []TrendFigure{
	{"speedup", func(r TrendRun) float64 { return r.Speedup }, func(v float64) string { return fmt.Sprintf("%.1f×", v) }},
	{"effective parallelism", func(r TrendRun) float64 { return r.Parallelism }, func(v float64) string { return fmt.Sprintf("%.1f", v) }},
	{"latency p50", func(r TrendRun) float64 { return r.LatencyP50 }, func(v float64) string { return fmt.Sprintf("%.2f s", v) }},
	{"latency p95", func(r TrendRun) float64 { return r.LatencyP95 }, func(v float64) string { return fmt.Sprintf("%.2f s", v) }},
}

// TrendEvent is one change a trend found.
type TrendEvent struct {
	// Kind is "step" (a figure's lasting change), "verdict" (the verdict
	// of the latest runs differs from the run's before them),
	// "429s began" or "429s stopped".
	Kind string
	// Figure is the step's figure (a TrendFigures name).
	Figure string
	// At is the index of the run the change came with.
	At int
	// Before and After are a step's medians; AfterRuns counts the runs
	// of the later part (1: the latest run alone, so far).
	Before, After float64
	AfterRuns     int
	// From and To are the verdicts of a verdict change.
	From, To string
}

// TrendSummary is what changed over the runs of a trend.
type TrendSummary struct {
	// Runs counts the runs with a result; the others are not analysed.
	Runs   int
	Events []TrendEvent
	// Text is the closing line: what changed, and when.
	Text string
}

// SummarizeTrend finds what changed over runs, oldest first: the step of
// each figure (FindStep), a change of verdict (the latest runs' verdict,
// since the first of them, when the run before them had another), and the
// start or end of 429s (when the latest runs all had 429s and the run
// before them none, or the other way round). Runs without a result are
// left out.
func SummarizeTrend(runs []TrendRun) TrendSummary {
	var with []int // indices of the runs with a result
	for i, r := range runs {
		if r.HasResult() {
			with = append(with, i)
		}
	}
	s := TrendSummary{Runs: len(with)}
	switch len(with) {
	case 0:
		s.Text = "no run with a result: nothing to compare"
		return s
	case 1:
		s.Text = "one run with a result: nothing to compare it with yet"
		return s
	}
	for _, f := range TrendFigures {
		values := make([]float64, len(with))
		for j, i := range with {
			values[j] = f.Of(runs[i])
		}
		if st, ok := FindStep(values); ok {
			s.Events = append(s.Events, TrendEvent{Kind: "step", Figure: f.Name, At: with[st.At], Before: st.Before, After: st.After, AfterRuns: st.AfterRuns})
		}
	}
	if e, ok := verdictChange(runs, with); ok {
		s.Events = append(s.Events, e)
	}
	if e, ok := rateLimitChange(runs, with); ok {
		s.Events = append(s.Events, e)
	}
	s.Text = trendText(runs, with, s.Events)
	return s
}

// verdictChange is the change of verdict of the latest runs (of with), if
// the run before them had another.
func verdictChange(runs []TrendRun, with []int) (TrendEvent, bool) {
	last := runs[with[len(with)-1]].Verdict
	j := len(with) - 1
	for j > 0 && runs[with[j-1]].Verdict == last {
		j--
	}
	if j == 0 {
		return TrendEvent{}, false
	}
	return TrendEvent{Kind: "verdict", At: with[j], From: runs[with[j-1]].Verdict, To: last}, true
}

// rateLimitChange is the start (or end) of the 429s of the latest runs
// (of with): they all had some (none), and the run before them none
// (some).
func rateLimitChange(runs []TrendRun, with []int) (TrendEvent, bool) {
	limited := func(j int) bool { return runs[with[j]].RateLimited > 0 }
	last := limited(len(with) - 1)
	j := len(with) - 1
	for j > 0 && limited(j-1) == last {
		j--
	}
	if j == 0 {
		return TrendEvent{}, false
	}
	kind := "429s began"
	if !last {
		kind = "429s stopped"
	}
	return TrendEvent{Kind: kind, At: with[j]}, true
}

// trendText is the closing line: the events in the order of TrendFigures,
// then the verdict, then the 429s, each with the time of its run ("at the
// same run" when it is the previous event's); or, with none, the range of
// the speedup and whether there were 429s.
func trendText(runs []TrendRun, with []int, events []TrendEvent) string {
	var b strings.Builder
	setups := map[string]bool{}
	for _, i := range with {
		setups[runs[i].Setup] = true
	}
	if len(events) == 0 {
		if len(with) < TrendMinRuns {
			fmt.Fprintf(&b, "too few runs for a lasting change (%d; it takes %d)", len(with), TrendMinRuns)
		} else {
			fmt.Fprintf(&b, "no lasting change over %d runs", len(with))
		}
		var sp []float64
		limited := 0
		for _, i := range with {
			if v := runs[i].Speedup; !math.IsNaN(v) {
				sp = append(sp, v)
			}
			if runs[i].RateLimited > 0 {
				limited++
			}
		}
		var parts []string
		if len(sp) > 0 {
			parts = append(parts, fmt.Sprintf("speedup %.1f×–%.1f×", slices.Min(sp), slices.Max(sp)))
		}
		if v := runs[with[len(with)-1]].Verdict; v == runs[with[0]].Verdict {
			parts = append(parts, "verdict "+v+" throughout")
		}
		if limited == 0 {
			parts = append(parts, "no 429s")
		} else {
			parts = append(parts, fmt.Sprintf("429s in %d of the runs", limited))
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	layout := TrendTimeLayout(runs)
	prev := -1
	for n, e := range events {
		if n > 0 {
			b.WriteString("; ")
		}
		b.WriteString(eventText(e))
		if e.At == prev {
			b.WriteString(" at the same run")
		} else {
			b.WriteString(" on " + runs[e.At].Start.UTC().Format(layout))
		}
		if e.Kind == "step" && e.AfterRuns == 1 {
			b.WriteString(" (the latest run alone, so far)")
		}
		prev = e.At
	}
	if len(setups) > 1 {
		fmt.Fprintf(&b, " (the runs measured %d different setups: their figures compare loosely)", len(setups))
	}
	return b.String()
}

// eventText says what an event changed, without when.
func eventText(e TrendEvent) string {
	switch e.Kind {
	case "step":
		verb := "rose"
		if e.After < e.Before {
			verb = "fell"
		}
		format := TrendFigures[slices.IndexFunc(TrendFigures, func(f TrendFigure) bool { return f.Name == e.Figure })].Format
		return fmt.Sprintf("%s %s from %s to %s", e.Figure, verb, format(e.Before), format(e.After))
	case "verdict":
		return fmt.Sprintf("the verdict went from %s to %s", e.From, e.To)
	}
	return e.Kind
}

// TrendTimeLayout is how the closing line and the table give a run's
// start: to the minute, or to the second when two runs started in the
// same minute.
func TrendTimeLayout(runs []TrendRun) string {
	seen := map[string]bool{}
	for _, r := range runs {
		m := r.Start.UTC().Format("2006-01-02 15:04")
		if seen[m] {
			return "2006-01-02 15:04:05"
		}
		seen[m] = true
	}
	return "2006-01-02 15:04"
}
