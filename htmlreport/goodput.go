package htmlreport

import (
	"fmt"

	"github.com/llmconc/llmconc/report"
)

// goodputFigures are the summary's goodput figures, one per pass, under the
// run's -slo: the requests that met every objective, and their rate. None
// without -slo.
func goodputFigures(d report.Document) []figure {
	if d.Config.SLO == nil {
		return nil
	}
	var out []figure
	add := func(name string, p *report.Pass) {
		if p == nil || p.Goodput == nil {
			return
		}
		g := p.Goodput
		out = append(out, figure{
			Label: "Goodput, " + name,
			Value: fmt.Sprintf("%d of %d", g.Met, g.Total),
			Note:  fmt.Sprintf("%.2f req/s met %s", finite(g.RequestsPerSecond), d.Config.SLO),
		})
	}
	add("sequential", d.Sequential)
	add("concurrent", d.Concurrent)
	if d.Sweep != nil {
		for i, p := range d.Sweep.Passes {
			if i < len(d.Config.Sweep) {
				add(fmt.Sprintf("level %d", d.Config.Sweep[i]), p)
			}
		}
	}
	return out
}
