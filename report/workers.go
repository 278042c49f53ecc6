package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmconc/llmconc/analysis"
)

// workers prints, when several workers sent a pass, how many requests each
// sent, and what their clocks do to the pass's timing (analysis.ClockWarning).
func (t Text) workers(s analysis.PassSummary) {
	if len(s.Workers) > 1 {
		ids := make([]string, 0, len(s.Workers))
		for id := range s.Workers {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = fmt.Sprintf("%s %d", analysis.WorkerName(id), s.Workers[id])
		}
		fmt.Fprintf(t.W, "    Workers:               %d (%s)\n", len(ids), strings.Join(parts, ", "))
	}
	if w := analysis.ClockWarning(s); w != "" {
		fmt.Fprintf(t.W, "    %s\n", w)
	}
}

// clockConclusion is the clock warning of a document's passes that sent
// together (the concurrent pass, or the sweep's levels), for its conclusion.
func clockConclusion(d Document) string {
	var ps []*Pass
	ps = append(ps, d.Concurrent)
	if d.Sweep != nil {
		ps = append(ps, d.Sweep.Passes...)
	}
	for _, p := range ps {
		if p == nil {
			continue
		}
		if w := analysis.ClockWarning(p.PassSummary); w != "" {
			return w
		}
	}
	return ""
}
