package analysis_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
)

// withGoodput is level l with met of its requests meeting the objectives.
func withGoodput(l analysis.ProbeLevel, met int) analysis.ProbeLevel {
	l.Goodput = &analysis.GoodputSummary{Met: met, Total: l.Requests}
	return l
}

func TestSummarizeProbeSLO(t *testing.T) {
	slo := &analysis.SLO{TTFTSeconds: 0.5}
	// Capped at 8 by the endpoint: parallelism stays at 8 from 16 on.
	capped := func(met ...int) []analysis.ProbeLevel {
		ls := []analysis.ProbeLevel{lvl(1, 1, 3, 0.3, 0), lvl(2, 2, 6, 0.3, 0), lvl(4, 4, 12, 0.3, 0), lvl(8, 8, 24, 0.3, 0), lvl(16, 8, 24, 0.6, 0)}
		for i := range ls {
			ls[i] = withGoodput(ls[i], met[i])
		}
		return ls
	}
	for _, tc := range []struct {
		name     string
		levels   []analysis.ProbeLevel
		slo      *analysis.SLO
		rec, cap int
		why      []string
	}{
		{
			name:   "every level within the SLO: the endpoint's limit stands",
			levels: capped(2, 4, 8, 16, 32), slo: slo, rec: 8, cap: 16,
			why: []string{"Use 8 requests at a time: the endpoint served 8", "and 8 is within the largest level at which 95% of requests met ttft ≤ 500ms (16)."},
		},
		{
			name:   "the SLO caps below the endpoint's limit",
			levels: capped(2, 4, 8, 15, 10), slo: slo, rec: 4, cap: 4,
			why: []string{"Use 4 requests at a time, the largest level at which 95% of requests met ttft ≤ 500ms (8 of 8 met them), though the endpoint alone would allow 8: the endpoint served 8"},
		},
		{
			name:   "31 of 32 (over 95%) is within",
			levels: capped(2, 4, 8, 16, 31), slo: slo, rec: 8, cap: 16,
			why: []string{"within the largest level"},
		},
		{
			name: "95% of 20 requests: 19 is within, 18 is not",
			levels: []analysis.ProbeLevel{
				withGoodput(analysis.ProbeLevel{Concurrency: 1, Requests: 20, Successful: 20, EffectiveParallelism: 1, RequestsPerSecond: 3}, 19),
				withGoodput(analysis.ProbeLevel{Concurrency: 2, Requests: 20, Successful: 20, EffectiveParallelism: 2, RequestsPerSecond: 6}, 18),
			},
			slo: slo, rec: 1, cap: 1,
			why: []string{"Use 1 request at a time, the largest level at which 95% of requests met ttft ≤ 500ms (19 of 20 met them), though the endpoint alone would allow 2"},
		},
		{
			name:   "a level above a missed one counts: the largest level within",
			levels: capped(2, 3, 8, 16, 0), slo: slo, rec: 8, cap: 8,
			why: []string{"and 8 is within the largest level at which 95% of requests met ttft ≤ 500ms (8)."},
		},
		{
			name:   "no level within the SLO: no concurrency",
			levels: capped(1, 2, 4, 8, 16), slo: slo, rec: 0, cap: 0,
			why: []string{"No concurrency meets the objectives: the recommendation is capped at the largest level at which 95% of requests met ttft ≤ 500ms, and no level was (at 1, 1 of 2 met them), though the endpoint alone would allow 8."},
		},
		{
			name:   "nothing succeeded: the SLO changes nothing",
			levels: []analysis.ProbeLevel{withGoodput(analysis.ProbeLevel{Concurrency: 1, Requests: 2, Failed: 2}, 0)},
			slo:    slo, rec: 0, cap: 0,
			why: []string{"No request succeeded"},
		},
		{
			name:   "without -slo: as SummarizeProbe",
			levels: capped(0, 0, 0, 0, 0), rec: 8, cap: 0,
			why: []string{"Use 8 requests at a time: the endpoint served 8 in parallel (effective parallelism 8.0) without a 429, while at 16 it served only 8.0 at once (p95 latency 0.60s)."},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := analysis.SummarizeProbeSLO(tc.levels, analysis.ProbeLimits{}, tc.slo)
			if p.RecommendedConcurrency != tc.rec {
				t.Errorf("recommended = %d, want %d (%s)", p.RecommendedConcurrency, tc.rec, p.Recommendation)
			}
			if got := analysis.ProbeSLOCap(p.Levels); got != tc.cap {
				t.Errorf("SLO cap = %d, want %d", got, tc.cap)
			}
			for _, w := range tc.why {
				if !strings.Contains(p.Recommendation, w) {
					t.Errorf("recommendation %q lacks %q", p.Recommendation, w)
				}
			}
			if (p.SLO == nil) != (tc.slo == nil) {
				t.Errorf("slo = %v, want %v", p.SLO, tc.slo)
			}
			if tc.slo == nil {
				if want := analysis.SummarizeProbe(tc.levels, analysis.ProbeLimits{}); p.Recommendation != want.Recommendation || p.RecommendedConcurrency != want.RecommendedConcurrency {
					t.Errorf("without -slo %+v, want %+v", p, want)
				}
			}
		})
	}
}

// Without -slo the probe's JSON has neither slo nor a level's goodput.
func TestProbeJSONWithoutSLO(t *testing.T) {
	p := analysis.SummarizeProbeSLO([]analysis.ProbeLevel{lvl(1, 1, 3, 0.3, 0)}, analysis.ProbeLimits{}, nil)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "slo") || strings.Contains(string(b), "goodput") {
		t.Errorf("JSON %s has slo or goodput", b)
	}
	p = analysis.SummarizeProbeSLO([]analysis.ProbeLevel{withGoodput(lvl(1, 1, 3, 0.3, 0), 2)}, analysis.ProbeLimits{}, &analysis.SLO{LatencySeconds: 5})
	b, _ = json.Marshal(p)
	for _, want := range []string{`"goodput":{"met":2,"total":2,`, `"slo":{"latency_seconds":5}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
}
