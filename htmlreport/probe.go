package htmlreport

import (
	"fmt"
	"strconv"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/report"
)

// The probe section (`starter probe`): effective parallelism and p95
// latency against concurrency, with the knee and the first 429 marked:
//
//	<svg class="chart probe" data-metric="parallelism|latency">
//	<line class="mark knee" data-concurrency="C">     the knee
//	<line class="mark first429" data-concurrency="C"> the lowest level with a 429

type probeSection struct {
	Parallelism *probeChart
	Latency     *probeChart
	Findings    []field
	// Recommendation is the recommended concurrency and why.
	Recommendation string
	Rows           []probeRow
}

type probeChart struct {
	*lineChart
	Marks []probeMark
}

// probeMark is a vertical line at a level, labelled.
type probeMark struct {
	Class, Label, Title string
	Concurrency         int
	X, Y1, Y2, LabelY   string
}

type probeRow struct {
	Concurrency, Requests, Successful, Failed, Count429 string
	Parallelism, P50, P95                               string
	Errors                                              bool
}

// buildProbe is the probe section of d; nil when d is no probe.
func buildProbe(d report.Document) *probeSection {
	p := d.Probe
	if p == nil || len(p.Levels) == 0 {
		return nil
	}
	s := &probeSection{Recommendation: p.Recommendation}
	levels := make([]SweepLevel, len(p.Levels))
	for i, l := range p.Levels {
		levels[i] = SweepLevel{Concurrency: l.Concurrency, Requests: l.Requests, P50LatencySeconds: l.P50LatencySeconds,
			P95LatencySeconds: l.P95LatencySeconds, Count429: l.Count429, RequestsPerSecond: l.EffectiveParallelism}
		if l.Requests > 0 {
			levels[i].ErrorRate = float64(l.Failed) / float64(l.Requests)
		}
		s.Rows = append(s.Rows, probeRow{Concurrency: strconv.Itoa(l.Concurrency), Requests: strconv.Itoa(l.Requests),
			Successful: strconv.Itoa(l.Successful), Failed: strconv.Itoa(l.Failed), Count429: strconv.Itoa(l.Count429),
			Parallelism: fmt.Sprintf("%.1f", l.EffectiveParallelism), P50: seconds(l.P50LatencySeconds), P95: seconds(l.P95LatencySeconds),
			Errors: l.Failed > 0})
	}
	ax := sweepAxis(levels)
	// The parallelism chart's "ideal" series is the level itself: what an
	// endpoint serving every request at once reaches.
	par := ax.chart(levels, "parallelism", "effective parallelism", []string{"ideal", "parallelism"},
		func(l SweepLevel, s int) float64 {
			if s == 0 {
				return float64(l.Concurrency)
			}
			return l.RequestsPerSecond
		}, "at once")
	lat := ax.chart(levels, "latency", "latency (seconds)", []string{"p50", "p95"},
		func(l SweepLevel, s int) float64 {
			if s == 0 {
				return l.P50LatencySeconds
			}
			return l.P95LatencySeconds
		}, "s")
	s.Parallelism, s.Latency = &probeChart{lineChart: par}, &probeChart{lineChart: lat}
	for _, c := range []*probeChart{s.Parallelism, s.Latency} {
		c.mark(ax, p.KneeConcurrency, "knee", "knee", "the knee: throughput stops growing past this level")
		c.mark(ax, p.First429Concurrency, "first429", "first 429", "the lowest level with an HTTP 429")
	}
	s.Findings = []field{
		{Key: "Recommended concurrency", Value: strconv.Itoa(p.RecommendedConcurrency)},
		{Key: "Max concurrency served", Value: strconv.Itoa(p.MaxConcurrencyServed), Note: "effective parallelism ≥ 0.8 × the level, no 429"},
		{Key: "Knee", Value: intOr(p.KneeConcurrency, "not reached")},
		{Key: "First 429", Value: intOr(p.First429Concurrency, "none")},
		{Key: "Requests per minute", Value: limitOr(p.Limits.RequestsPerMinute)},
		{Key: "Tokens per minute", Value: limitOr(p.Limits.TokensPerMinute)},
	}
	if p.Stopped != "" {
		s.Findings = append(s.Findings, field{Key: "Stopped early", Value: p.Stopped})
	}
	for _, w := range p.Waits {
		s.Findings = append(s.Findings, field{Key: fmt.Sprintf("Waited before %d", w.Before), Value: fmt.Sprintf("%.1f s", w.Seconds), Note: w.Why})
	}
	return s
}

// mark adds a vertical line at level c, if any.
func (pc *probeChart) mark(ax concurrencyAxis, c *int, class, label, title string) {
	if c == nil {
		return
	}
	x := num(ax.x(*c))
	labelY := ax.b.y + 10
	if class == "first429" {
		labelY += 14
	}
	pc.Marks = append(pc.Marks, probeMark{Class: class, Label: label, Title: fmt.Sprintf("%s: %d", title, *c), Concurrency: *c,
		X: x, Y1: num(ax.b.y), Y2: num(ax.b.bottom()), LabelY: num(labelY)})
}

func intOr(p *int, none string) string {
	if p == nil {
		return none
	}
	return strconv.Itoa(*p)
}

func limitOr(l *analysis.ProbeLimit) string {
	if l == nil {
		return "unknown"
	}
	return fmt.Sprintf("%d (%s)", l.Value, l.Source)
}
