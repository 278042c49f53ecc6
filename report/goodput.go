package report

import (
	"fmt"
	"strings"

	"github.com/llmconc/llmconc/analysis"
)

// addGoodput counts each pass's goodput, and each sweep level's, under the
// document's -slo (nothing without one). A pass's rate is over its
// total_seconds, the span its throughput uses (a merged rerun keeps the
// original run's).
func addGoodput(d *Document) {
	slo := d.Config.SLO
	if slo == nil {
		return
	}
	byLevel := map[int]*analysis.GoodputSummary{}
	for _, p := range d.Passes() {
		g := analysis.GoodputOver(p.Requests, *slo, p.TotalSeconds)
		p.Goodput = &g
		if level, ok := passName(p).SweepLevel(); ok {
			byLevel[level] = &g
		}
	}
	if d.Sweep == nil {
		return
	}
	for i := range d.Sweep.Levels {
		if g, ok := byLevel[d.Sweep.Levels[i].Concurrency]; ok {
			v := *g
			d.Sweep.Levels[i].Goodput = &v
		}
	}
}

// Goodput prints one line per pass with its goodput under the run's -slo:
// how many requests met every objective, and at what rate. Nothing without
// -slo.
func (t Text) Goodput(d Document) {
	if d.Config.SLO == nil {
		return
	}
	var lines []string
	add := func(name string, p *Pass) {
		if p != nil && p.Goodput != nil {
			lines = append(lines, fmt.Sprintf("  %-13s %s", name+":", GoodputLine(*p.Goodput)))
		}
	}
	add("Sequential", d.Sequential)
	add("Concurrent", d.Concurrent)
	if d.Sweep != nil {
		for i, p := range d.Sweep.Passes {
			name := "Level ?"
			if level, ok := passName(p).SweepLevel(); ok {
				name = fmt.Sprintf("Level %d", level)
			} else if i < len(d.Config.Sweep) {
				name = fmt.Sprintf("Level %d", d.Config.Sweep[i])
			}
			add(name, p)
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(t.W, "GOODPUT (%s)\n", d.Config.SLO)
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	for _, l := range lines {
		fmt.Fprintln(t.W, l)
	}
	fmt.Fprintln(t.W)
}

// GoodputLine says a pass's goodput in one line: "7 of 10 met every
// objective (70%), 1.40 requests/s; missed: ttft ×3".
func GoodputLine(g analysis.GoodputSummary) string {
	pct := 0.0
	if g.Total > 0 {
		pct = 100 * float64(g.Met) / float64(g.Total)
	}
	s := fmt.Sprintf("%d of %d met every objective (%.0f%%), %.2f requests/s", g.Met, g.Total, pct, g.RequestsPerSecond)
	if len(g.Missed) > 0 {
		s += "; missed: " + kindLine(g.Missed)
	}
	return s
}
