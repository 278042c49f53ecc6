package report

import (
	"sort"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// Rerun describes a result that merges a rerun of failed requests (starter
// rerun -failed-only) into the run it reran.
type Rerun struct {
	// Of is the workflow ID of the run whose failed requests were resent.
	Of string `json:"of"`
	// OfRunID is that run's run ID.
	OfRunID string `json:"of_run_id"`
	// Resent lists, per pass, the indices of the requests sent again; their
	// records in the passes are the rerun's.
	Resent map[record.Pass][]int `json:"resent"`
	// Replaced keeps the original records of the resent requests, so the
	// first failures are not lost.
	Replaced []record.Request `json:"replaced"`
	// Note says which figures come from where.
	Note string `json:"note"`
}

// RerunNote explains a merged document's figures.
const RerunNote = "Each pass holds the original run's successful requests and the rerun's records of the resent ones. " +
	"Counts, status counts and latency statistics cover the merged requests; total_seconds, start_spread_seconds, max_in_flight, " +
	"dispatch_gap_seconds, output_tokens_per_second, the comparison and the conclusion are the original run's, " +
	"since timings of two runs cannot be added up."

// Merge returns the document of a rerun of failed requests merged into the
// document of the run it reran: in each pass, the rerun's records replace
// the original's of the same index. The rerun names the document
// (workflow_id, run_id, started_at, finished_at); base's configuration,
// timings, comparison and conclusion stay (see RerunNote).
func Merge(base, rerun Document) Document {
	d := base
	d.WorkflowID, d.RunID = rerun.WorkflowID, rerun.RunID
	d.StartedAt, d.FinishedAt = rerun.StartedAt, rerun.FinishedAt
	d.Error = rerun.Error
	if rerun.Config.SLO != nil {
		d.Config.SLO = rerun.Config.SLO // `starter result -slo` of the rerun
	}
	info := &Rerun{Of: base.WorkflowID, OfRunID: base.RunID, Resent: map[record.Pass][]int{}, Note: RerunNote}
	d.Sequential = mergePass(base.Sequential, rerun.Sequential, info)
	d.Concurrent = mergePass(base.Concurrent, rerun.Concurrent, info)
	if base.Sweep != nil {
		sw := *base.Sweep
		sw.Passes = make([]*Pass, len(base.Sweep.Passes))
		for i, p := range base.Sweep.Passes {
			var r *Pass
			if rerun.Sweep != nil {
				for _, rp := range rerun.Sweep.Passes {
					if name := passName(rp); name != "" && name == passName(p) {
						r = rp
					}
				}
			}
			sw.Passes[i] = mergePass(p, r, info)
		}
		d.Sweep = &sw
	}
	sort.SliceStable(info.Replaced, func(i, j int) bool {
		if info.Replaced[i].Pass != info.Replaced[j].Pass {
			return info.Replaced[i].Pass < info.Replaced[j].Pass
		}
		return info.Replaced[i].Index < info.Replaced[j].Index
	})
	d.Rerun = info
	d.Cost = addCost(base.Cost, rerun.Cost)
	addGoodput(&d)
	return d
}

// mergePass replaces base's records by the rerun's of the same index, and
// recomputes the counts and latency figures while keeping base's timings.
func mergePass(base, rerun *Pass, info *Rerun) *Pass {
	if base == nil || rerun == nil || len(rerun.Requests) == 0 {
		return base
	}
	byIndex := map[int]record.Request{}
	for _, r := range rerun.Requests {
		byIndex[r.Index] = r
	}
	recs := make([]record.Request, 0, len(base.Requests))
	for _, r := range base.Requests {
		if again, ok := byIndex[r.Index]; ok {
			info.Replaced = append(info.Replaced, r)
			info.Resent[r.Pass] = append(info.Resent[r.Pass], r.Index)
			recs = append(recs, again)
			continue
		}
		recs = append(recs, r)
	}
	p := *base
	p.Requests = recs
	s := analysis.Summarize(recs)
	s.TotalSeconds = base.TotalSeconds
	s.StartSpreadSeconds = base.StartSpreadSeconds
	s.MaxInFlight = base.MaxInFlight
	s.DispatchGapSeconds = base.DispatchGapSeconds
	s.OutputTokensPerSecond = base.OutputTokensPerSecond
	p.PassSummary = s
	return &p
}

// passName is the name of the pass whose requests p holds ("" for none).
func passName(p *Pass) record.Pass {
	if p == nil || len(p.Requests) == 0 {
		return ""
	}
	return p.Requests[0].Pass
}

// Passes lists the document's passes: sequential, concurrent, then a sweep's
// levels, leaving out those that did not run.
func (d Document) Passes() []*Pass {
	var out []*Pass
	for _, p := range []*Pass{d.Sequential, d.Concurrent} {
		if p != nil {
			out = append(out, p)
		}
	}
	if d.Sweep != nil {
		for _, p := range d.Sweep.Passes {
			if p != nil {
				out = append(out, p)
			}
		}
	}
	return out
}
