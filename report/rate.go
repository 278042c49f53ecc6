package report

import (
	"fmt"
	"strings"

	"github.com/llmconc/llmconc/analysis"
)

// setRate sets the figures of a pass sent as arrivals at target requests
// per second (-rate): the target, and the rate and gap variation its
// requests' send times achieved (null with too few sends). Nothing for a
// burst (target 0).
func (p *Pass) setRate(target float64) {
	if target <= 0 {
		return
	}
	p.TargetRate = &target
	a := analysis.ArrivalsOf(p.Requests)
	if a.AchievedRate > 0 {
		p.AchievedRate = &a.AchievedRate
	}
	if a.GapCV > 0 {
		p.ArrivalGapCV = &a.GapCV
	}
}

// Arrivals prints how a pass sent at a rate kept it; nothing for a burst.
func (t Text) Arrivals(p *Pass) {
	if p == nil || p.TargetRate == nil {
		return
	}
	achieved, cv := "n/a", "n/a"
	if p.AchievedRate != nil {
		achieved = fmt.Sprintf("%.2f/s", *p.AchievedRate)
	}
	if p.ArrivalGapCV != nil {
		cv = fmt.Sprintf("%.2f", *p.ArrivalGapCV)
	}
	fmt.Fprintln(t.W, "ARRIVALS (open loop, -rate)")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	fmt.Fprintf(t.W, "  Target rate:    %.2f/s\n", *p.TargetRate)
	fmt.Fprintf(t.W, "  Achieved rate:  %s (from the send times)\n", achieved)
	fmt.Fprintf(t.W, "  Gap CV:         %s (1 for Poisson arrivals)\n", cv)
	fmt.Fprintln(t.W)
}

// rateLine is the configuration line of a run sent at a rate.
func rateLine(c Config) string {
	return fmt.Sprintf("  Arrival rate:      %g requests/s, burstiness %g, seed %d (open loop)\n", c.Rate, c.Burstiness, c.Seed)
}
