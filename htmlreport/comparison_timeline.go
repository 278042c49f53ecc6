package htmlreport

import (
	"fmt"

	"github.com/llmconc/llmconc/report"
)

// comparedTimelines lays every target's passes on one time scale: the
// longest pass of all sets the axis. It returns the note on the scale, and
// the passes, each with every target's timeline.
func comparedTimelines(targets []report.TargetDocument) (string, []comparedPass) {
	type prepared struct {
		name    string
		p       *report.Pass
		ts      []timed
		notSent int
	}
	var kinds [][]prepared // per pass kind, per target
	longest := 1e-3
	for _, t := range targets {
		for k, x := range passes(t.Document) {
			if len(kinds) <= k {
				kinds = append(kinds, nil)
			}
			pr := prepared{name: x.name, p: x.p}
			if x.p != nil {
				pr.ts, pr.notSent = timedRecords(x.p.Requests)
				longest = max(longest, span(pr.ts))
			}
			kinds[k] = append(kinds[k], pr)
		}
	}
	var out []comparedPass
	for k, x := range passes(report.Document{}) {
		cp := comparedPass{Pass: x.name, Title: x.title}
		for i, pr := range kinds[k] {
			tt := targetTimeline{Target: i + 1, Name: targets[i].Config.EndpointName + " · " + targets[i].Config.Model, NotSent: pr.notSent}
			switch {
			case pr.p == nil:
				tt.Missing = "This pass did not run."
			case len(pr.ts) == 0:
				tt.Missing = "No request of this pass was sent."
			default:
				tt.Stats = passStats(pr.p)
				tt.Chart = buildWaterfall(pr.name, pr.ts, longest, true, nil)
			}
			cp.Targets = append(cp.Targets, tt)
		}
		out = append(out, cp)
	}
	note := fmt.Sprintf("One bar per request, from its send to its response, in order of sending. Every timeline below, of every target and pass, "+
		"has the same time scale (0 to %s, the longest pass), so that their lengths compare directly.", seconds(longest))
	return note, out
}
