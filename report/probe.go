package report

import (
	"fmt"
	"strings"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// Probe is the document's "probe" section, for a run of `starter probe`:
// what the probe found (levels, max_concurrency_served, knee_concurrency,
// first_429_concurrency, limits, recommended_concurrency and its
// recommendation), the settings it ran with, why it stopped and the waits
// between its levels. The levels' passes, with their requests, are the
// document's sweep.
type Probe struct {
	analysis.ProbeSummary
	MaxConcurrency int `json:"max_concurrency"`
	// RequestsPerLevel is the requests of each level; 0 means twice the
	// level.
	RequestsPerLevel int `json:"requests_per_level"`
	// Stopped says why the probe stopped before its last level.
	Stopped string              `json:"stopped,omitempty"`
	Waits   []testrun.ProbeWait `json:"waits,omitempty"`
}

// probeOf is the probe section of a result; nil for a run that is no
// probe. The levels' figures come from the records (as read from the
// history), each level's effective parallelism against the mean latency of
// the first level with a success, as the workflow computed it.
func probeOf(r testrun.Result) *Probe {
	if r.Config.Probe == nil {
		return nil
	}
	p := &Probe{MaxConcurrency: r.Config.Probe.MaxConcurrency, RequestsPerLevel: r.Config.Probe.RequestsPerLevel}
	if r.Probe != nil {
		p.Stopped, p.Waits = r.Probe.Stopped, r.Probe.Waits
	}
	var levels []analysis.ProbeLevel
	var all []record.Request
	if r.Warmup != nil {
		all = append(all, r.Warmup.Records...)
	}
	baseline := 0.0
	for _, pass := range r.Sweep {
		s := analysis.Summarize(pass.Records)
		if baseline == 0 {
			baseline = analysis.ProbeBaseline(s)
		}
		levels = append(levels, probeLevelSLO(analysis.ProbeLevelOf(pass.Concurrency, s, baseline), pass.Records, r.Config.SLO))
		all = append(all, pass.Records...)
	}
	p.ProbeSummary = analysis.SummarizeProbeSLO(levels, analysis.ProbeLimitsOf(all), r.Config.SLO)
	return p
}

// ProbeTable prints a probe's levels, aligned, marking the knee, the
// first 429 and the recommendation, then its limits, its stop and waits,
// and the recommendation.
func (t Text) ProbeTable(p *Probe) {
	if p == nil {
		return
	}
	fmt.Fprintln(t.W, "PROBE")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	fmt.Fprintf(t.W, "  %11s %8s %5s %7s %5s %11s %9s %9s%s\n", "concurrency", "requests", "ok", "failed", "429", "parallelism", "p50 (s)", "p95 (s)", sloHeader(p))
	for _, l := range p.Levels {
		var marks []string
		if l.Concurrency == p.RecommendedConcurrency {
			marks = append(marks, "recommended")
		}
		if p.KneeConcurrency != nil && l.Concurrency == *p.KneeConcurrency {
			marks = append(marks, "knee")
		}
		if p.First429Concurrency != nil && l.Concurrency == *p.First429Concurrency {
			marks = append(marks, "first 429")
		}
		mark := ""
		if len(marks) > 0 {
			mark = "  ← " + strings.Join(marks, ", ")
		}
		fmt.Fprintf(t.W, "  %11d %8d %5d %7d %5d %11.1f %9.2f %9.2f%s%s\n", l.Concurrency, l.Requests, l.Successful, l.Failed,
			l.Count429, l.EffectiveParallelism, l.P50LatencySeconds, l.P95LatencySeconds, sloCell(p, l), mark)
	}
	fmt.Fprintln(t.W)
	fmt.Fprintf(t.W, "  Max concurrency served:  %d\n", p.MaxConcurrencyServed)
	fmt.Fprintf(t.W, "  Knee:                    %s\n", orNone(p.KneeConcurrency, "not reached"))
	fmt.Fprintf(t.W, "  First 429 at:            %s\n", orNone(p.First429Concurrency, "none"))
	fmt.Fprintf(t.W, "  Requests per minute:     %s\n", limitText(p.Limits.RequestsPerMinute))
	fmt.Fprintf(t.W, "  Tokens per minute:       %s\n", limitText(p.Limits.TokensPerMinute))
	if p.Stopped != "" {
		fmt.Fprintf(t.W, "  Stopped early:           %s\n", p.Stopped)
	}
	for _, w := range p.Waits {
		fmt.Fprintf(t.W, "  Waited %.1fs before %d:   %s\n", w.Seconds, w.Before, w.Why)
	}
	if p.SLO != nil {
		fmt.Fprintf(t.W, "  Within the SLO up to:    %s (%.0f%% of requests met %s)\n", sloCapText(p), 100*analysis.ProbeSLOShare, p.SLO)
	}
	fmt.Fprintf(t.W, "  Recommended concurrency: %d\n", p.RecommendedConcurrency)
	fmt.Fprintln(t.W)
}

func orNone(p *int, none string) string {
	if p == nil {
		return none
	}
	return fmt.Sprint(*p)
}

func limitText(l *analysis.ProbeLimit) string {
	if l == nil {
		return "unknown"
	}
	return fmt.Sprintf("%d (from the %s)", l.Value, map[string]string{analysis.LimitFromHeaders: "x-ratelimit-limit-* headers", analysis.LimitFromObserved: "429s observed"}[l.Source])
}

// probeConfig prints a probe's settings in the configuration block.
func (t Text) probeConfig(c Config) {
	per := "twice the level"
	if c.Probe.RequestsPerLevel > 0 {
		per = fmt.Sprint(c.Probe.RequestsPerLevel)
	}
	fmt.Fprintf(t.W, "  Probe levels:      %s (stops past the limit)\n", strings.Trim(fmt.Sprint(c.Sweep), "[]"))
	fmt.Fprintf(t.W, "  Requests per level: %s\n", per)
	fmt.Fprintf(t.W, "  Max concurrency:   %d\n", c.Probe.MaxConcurrency)
	if c.SLO != nil {
		fmt.Fprintf(t.W, "  SLO:               %s (the recommendation stays where %.0f%% of requests met it)\n", c.SLO, 100*analysis.ProbeSLOShare)
	}
}
