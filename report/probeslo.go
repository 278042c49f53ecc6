package report

import (
	"fmt"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// probeLevelSLO is level l with its goodput under slo, counted over the
// level's records as analysis.Goodput counts them; l itself without slo.
func probeLevelSLO(l analysis.ProbeLevel, recs []record.Request, slo *analysis.SLO) analysis.ProbeLevel {
	if slo != nil {
		g := analysis.Goodput(recs, *slo)
		l.Goodput = &g
	}
	return l
}

// sloHeader is the probe table's goodput column header; "" without -slo.
func sloHeader(p *Probe) string {
	if p.SLO == nil {
		return ""
	}
	return fmt.Sprintf(" %9s", "slo met")
}

// sloCell is level l's goodput cell (met/total); "" without -slo.
func sloCell(p *Probe, l analysis.ProbeLevel) string {
	if p.SLO == nil {
		return ""
	}
	cell := "-"
	if l.Goodput != nil {
		cell = fmt.Sprintf("%d/%d", l.Goodput.Met, l.Goodput.Total)
	}
	return fmt.Sprintf(" %9s", cell)
}

// sloCapText is the largest level within the probe's SLO, or "none".
func sloCapText(p *Probe) string {
	if c := analysis.ProbeSLOCap(p.Levels); c > 0 {
		return fmt.Sprint(c)
	}
	return "none"
}
