package htmlreport

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
)

// The generation-interval chart: one row per streamed request, a bar from
// its first content chunk to its last, and below them the number of
// requests generating at each instant (the observed server concurrency).
// Its elements:
//
//	<svg class="chart intervals" data-pass="…" data-max="M" data-available="true|false">
//	<rect class="gen" data-pass="…" data-index="3">       one per generation interval
//	<polyline class="level" data-pass="…">                 the level, a step line
//	<line class="level-max" data-max="M">                  the max, dashed

// intervalSection is one pass's generation intervals.
type intervalSection struct {
	Pass, Title string
	// Figures: max, mean, p50, intervals, or why the evidence is not
	// available.
	Stats     []string
	Available bool
	Reason    string
	Chart     *intervalChart
}

type intervalChart struct {
	frame
	Pass      string
	Max       int
	Available bool
	Bars      []bar
	Level     string // polyline points
	MaxLine   *line
	RowLabels []text
}

// Geometry of the interval chart.
const (
	ivLevelH = 90.0 // height of the level plot
	ivGap    = 34.0 // between the bars and the level plot
)

// buildIntervals returns the interval sections of the passes that were
// streamed.
func buildIntervals(d report.Document) []intervalSection {
	var out []intervalSection
	for _, x := range passes(d) {
		if x.p == nil || x.p.ObservedServerConcurrency == nil {
			continue
		}
		o := x.p.ObservedServerConcurrency
		s := intervalSection{Pass: x.name, Title: strings.SplitN(x.title, ":", 2)[0], Available: o.Available, Reason: o.Reason}
		s.Stats = []string{
			fmt.Sprintf("max %d", o.Max),
			fmt.Sprintf("mean %.2f", o.Mean),
			fmt.Sprintf("p50 %d", o.P50),
			fmt.Sprintf("%d of %d streams with a generation interval", o.Intervals, o.Streamed),
			fmt.Sprintf("generation covers %.0f%% of the pass", 100*o.Coverage),
		}
		s.Chart = buildIntervalChart(x.name, x.p, o)
		out = append(out, s)
	}
	return out
}

// buildIntervalChart draws the generation intervals of p, one bar each
// over the time axis of its timeline, and below them the level, with o's
// max dashed; nil when there is no interval.
func buildIntervalChart(pass string, p *report.Pass, o *analysis.ObservedConcurrency) *intervalChart {
	iv := analysis.GenerationIntervals(p.Requests)
	if len(iv) == 0 {
		return nil
	}
	// The time axis starts at the pass's first send, like the timeline.
	origin := firstSend(p.Requests)
	end := 0.0
	for _, i := range iv {
		end = max(end, i.End.Sub(origin).Seconds())
	}
	top, step := niceCeil(end, 10)
	row, barH := rowHeights(len(iv))
	plotW := float64(wfWidth - wfLeft - wfRight)
	bars := box{wfLeft, wfTop, plotW, row * float64(len(iv))}
	lv := box{wfLeft, bars.bottom() + ivGap, plotW, ivLevelH}
	c := &intervalChart{Pass: pass, Max: o.Max, Available: o.Available}
	c.W, c.H = wfWidth, int(math.Ceil(lv.bottom()))+wfBottom
	x := func(s float64) float64 { return bars.x + finite(s)/top*bars.w }

	xs, labels := ticks(0, top, step, x)
	c.xAxis(lv, xs, labels, "seconds since the pass's first send")
	for _, gx := range xs {
		c.Grid = append(c.Grid, line{num(gx), num(bars.y), num(gx), num(bars.bottom())})
	}
	c.Titles = append(c.Titles, text{X: "14", Y: num(bars.y + bars.h/2), Text: "generating", Anchor: "middle", Rotate: true})
	c.addBars(bars, row, barH, iv, origin, x)
	c.addLevel(lv, x, levelSteps(iv, origin), o.Max)
	return c
}

// firstSend is the earliest send of recs (zero when none was sent).
func firstSend(recs []record.Request) time.Time {
	var origin time.Time
	for _, r := range recs {
		if !r.SentAt.IsZero() && (origin.IsZero() || r.SentAt.Before(origin)) {
			origin = r.SentAt
		}
	}
	return origin
}

// addBars draws one bar per interval in b, a row each, at x of its
// seconds since origin.
func (c *intervalChart) addBars(b box, row, barH float64, iv []analysis.Interval, origin time.Time, x func(float64) float64) {
	for k, i := range iv {
		y := b.y + float64(k)*row + (row-barH)/2
		s, e := i.Start.Sub(origin).Seconds(), i.End.Sub(origin).Seconds()
		x0 := x(s)
		c.Bars = append(c.Bars, bar{X: num(x0), Y: num(y), W: num(math.Max(x(e)-x0, wfMinBarW)), H: num(barH), Index: i.Index, OK: true,
			Title: fmt.Sprintf("#%d generating from %s to %s (%s)", i.Index, seconds(s), seconds(e), seconds(e-s))})
		if row >= wfRowLabelAt {
			c.RowLabels = append(c.RowLabels, text{X: num(b.x - 8), Y: num(y + barH/2 + 4), Text: strconv.Itoa(i.Index), Anchor: "end"})
		}
	}
}

// levelStep is the start (+1) or end (-1) of an interval, in seconds.
type levelStep struct {
	at    float64
	delta int
}

// levelSteps lists the starts and ends of the intervals in seconds since
// origin, in time order, an end before a start at the same instant.
func levelSteps(iv []analysis.Interval, origin time.Time) []levelStep {
	var ev []levelStep
	for _, i := range iv {
		ev = append(ev, levelStep{i.Start.Sub(origin).Seconds(), +1}, levelStep{i.End.Sub(origin).Seconds(), -1})
	}
	sort.Slice(ev, func(a, b int) bool {
		if ev[a].at != ev[b].at {
			return ev[a].at < ev[b].at
		}
		return ev[a].delta < ev[b].delta
	})
	return ev
}

// addLevel draws the level of the steps in lv as a step line over the x
// axis, with its own y axis, and marks maxLevel (when above 0).
func (c *intervalChart) addLevel(lv box, x func(float64) float64, steps []levelStep, maxLevel int) {
	peak, level := 0, 0
	for _, e := range steps {
		level += e.delta
		peak = max(peak, level)
	}
	yTop, ystep := niceCeil(float64(max(peak, 1)), 4)
	ystep = math.Max(1, math.Round(ystep))
	yTop = math.Max(yTop, float64(peak))
	y := func(v float64) float64 { return lv.bottom() - v/yTop*lv.h }
	ys, ylabels := ticks(0, yTop, ystep, y)
	c.yAxis(lv, ys, ylabels, "at once")
	pts := []string{num(x(0)) + "," + num(y(0))}
	level = 0
	for _, e := range steps {
		pts = append(pts, num(x(e.at))+","+num(y(float64(level))))
		level += e.delta
		pts = append(pts, num(x(e.at))+","+num(y(float64(level))))
	}
	c.Level = strings.Join(pts, " ")
	if maxLevel > 0 {
		my := y(float64(maxLevel))
		c.MaxLine = &line{num(lv.x), num(my), num(lv.right()), num(my)}
	}
}

// repeatSection is the table of a repeated comparison.
type repeatSection struct {
	Rows []repeatRow
	// Summary is the mean speedup and its interval; Orders compares the
	// two orders of the passes.
	Summary, Orders string
}

type repeatRow struct {
	Run, First, Sequential, Concurrent, Speedup, Observed, Verdict string
}

func buildRepeat(r *report.Repeat) *repeatSection {
	if r == nil || len(r.Runs) == 0 {
		return nil
	}
	s := &repeatSection{Summary: fmt.Sprintf("Mean speedup %.2fx, 95 %% confidence interval %.2f–%.2f, over %d runs.",
		r.Speedup.Mean, r.Speedup.Low95, r.Speedup.High95, len(r.Runs))}
	for i, run := range r.Runs {
		obs := "–"
		if run.ObservedMax != nil {
			obs = strconv.Itoa(*run.ObservedMax)
		}
		s.Rows = append(s.Rows, repeatRow{Run: strconv.Itoa(i + 1), First: string(run.FirstPass()), Sequential: seconds(run.SequentialSeconds),
			Concurrent: seconds(run.ConcurrentSeconds), Speedup: fmt.Sprintf("%.2fx", run.Speedup), Observed: obs, Verdict: run.Verdict})
	}
	if o := r.Orders; o != nil {
		s.Orders = fmt.Sprintf("Sequential pass first: mean speedup %.2fx over %d runs. Concurrent pass first: %.2fx over %d. Spread between the orders: %+.0f%%.",
			o.SequentialFirst.MeanSpeedup, o.SequentialFirst.Runs, o.ConcurrentFirst.MeanSpeedup, o.ConcurrentFirst.Runs, o.SpreadPercent)
	}
	return s
}
