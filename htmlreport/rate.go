package htmlreport

import (
	"fmt"

	"github.com/llmconc/llmconc/report"
)

// rateFields is the configuration line of a run whose concurrent pass was
// sent as arrivals at a rate (-rate): the target, and what was achieved;
// none for a burst.
func rateFields(d report.Document) []field {
	c := d.Concurrent
	if c == nil || c.TargetRate == nil {
		return nil
	}
	note := "achieved: n/a"
	if c.AchievedRate != nil {
		note = fmt.Sprintf("achieved %.2f/s", *c.AchievedRate)
	}
	if c.ArrivalGapCV != nil {
		note += fmt.Sprintf(", gap coefficient of variation %.2f", *c.ArrivalGapCV)
	}
	note += fmt.Sprintf("; burstiness %g, seed %d", d.Config.Burstiness, d.Config.Seed)
	return []field{{Key: "Arrival rate (open loop)", Value: fmt.Sprintf("%g requests/s", *c.TargetRate), Note: note}}
}
