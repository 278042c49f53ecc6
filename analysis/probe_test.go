package analysis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// lvl is a probe level of concurrency c with the given effective
// parallelism, requests/s, p95 and 429s, 2c requests.
func lvl(c int, ep, rps, p95 float64, n429 int) analysis.ProbeLevel {
	return analysis.ProbeLevel{Concurrency: c, Requests: 2 * c, Successful: 2*c - n429, Failed: n429,
		EffectiveParallelism: ep, RequestsPerSecond: rps, P95LatencySeconds: p95, Count429: n429}
}

func TestSummarizeProbe(t *testing.T) {
	for _, tc := range []struct {
		name              string
		levels            []analysis.ProbeLevel
		served, knee, rec int // knee 0: null
		first429          int // 0: null
		why               string
	}{
		{
			name:   "capped at 4: parallelism stays at 4",
			levels: []analysis.ProbeLevel{lvl(1, 1, 3.3, 0.3, 0), lvl(2, 2, 6.6, 0.3, 0), lvl(4, 3.9, 13, 0.3, 0), lvl(8, 4, 13.2, 0.6, 0), lvl(16, 4, 13.1, 1.2, 0)},
			served: 4, knee: 4, rec: 4,
			why: "Use 4 requests at a time: the endpoint served 4 in parallel (effective parallelism 3.9) without a 429, while at 8 it served only 4.0 at once",
		},
		{
			name:   "rate-limited at 16",
			levels: []analysis.ProbeLevel{lvl(1, 1, 3, 0.3, 0), lvl(2, 2, 6, 0.3, 0), lvl(4, 4, 12, 0.3, 0), lvl(8, 8, 24, 0.3, 0), lvl(16, 20, 60, 0.3, 12)},
			served: 8, knee: 8, rec: 8, first429: 16,
			why: "while at 16 it got 12 rate-limited answers (HTTP 429) of 32",
		},
		{
			name:   "no limit reached",
			levels: []analysis.ProbeLevel{lvl(1, 1, 3, 0.3, 0), lvl(2, 2, 6, 0.3, 0), lvl(4, 4, 12, 0.3, 0)},
			served: 4, rec: 4,
			why: "the highest level probed",
		},
		{
			name:   "knee below the served level: latency grows first",
			levels: []analysis.ProbeLevel{lvl(1, 1, 3, 0.3, 0), lvl(2, 2, 6, 0.3, 0), lvl(4, 3.5, 6.3, 0.6, 0), lvl(8, 7, 6.4, 1.2, 0)},
			served: 8, knee: 2, rec: 2,
			why: "throughput stops growing past 2 (the knee",
		},
		{
			name:   "429 at the first level",
			levels: []analysis.ProbeLevel{lvl(1, 0.5, 1, 0.3, 1)},
			served: 0, rec: 1, first429: 1,
			why: "Use 1 request at a time: even at concurrency 1 it got 1 rate-limited",
		},
		{
			name:   "nothing succeeded",
			levels: []analysis.ProbeLevel{{Concurrency: 1, Requests: 2, Failed: 2}},
			why:    "No request succeeded",
		},
		{name: "no level", why: "ran no level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := analysis.SummarizeProbe(tc.levels, analysis.ProbeLimits{})
			if p.MaxConcurrencyServed != tc.served {
				t.Errorf("max_concurrency_served = %d, want %d", p.MaxConcurrencyServed, tc.served)
			}
			if got := deref(p.KneeConcurrency); got != tc.knee {
				t.Errorf("knee = %d, want %d", got, tc.knee)
			}
			if got := deref(p.First429Concurrency); got != tc.first429 {
				t.Errorf("first_429_concurrency = %d, want %d", got, tc.first429)
			}
			if p.RecommendedConcurrency != tc.rec {
				t.Errorf("recommended = %d, want %d (%s)", p.RecommendedConcurrency, tc.rec, p.Recommendation)
			}
			if !strings.Contains(p.Recommendation, tc.why) {
				t.Errorf("recommendation %q lacks %q", p.Recommendation, tc.why)
			}
		})
	}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func TestProbeStop(t *testing.T) {
	for _, tc := range []struct {
		name  string
		level analysis.ProbeLevel
		want  string // "" to go on
	}{
		{"served", lvl(8, 7.9, 0, 0, 0), ""},
		{"half served goes on", lvl(8, 4, 0, 0, 0), ""},
		{"below half stops", lvl(8, 3.9, 0, 0, 0), "served only 3.90 requests at once"},
		{"half 429 goes on", lvl(8, 8, 0, 0, 8), ""},
		{"more than half 429 stops", lvl(8, 8, 0, 0, 9), "9 of the 16 requests at concurrency 8 were rate-limited"},
		{"nothing succeeded stops", analysis.ProbeLevel{Concurrency: 1, Requests: 2, Failed: 2}, "served only 0.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := analysis.ProbeStop(tc.level)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("ProbeStop = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProbeLevelOf(t *testing.T) {
	// 8 successful requests in 2 s, at a baseline latency of 1 s: 4 at once.
	s := analysis.PassSummary{Successful: 8, Failed: 2, TotalSeconds: 2, StatusCounts: map[string]int{"200": 8, "429": 2}}
	l := analysis.ProbeLevelOf(8, s, 1)
	if l.EffectiveParallelism != 4 || l.Requests != 10 || l.Count429 != 2 || l.RequestsPerSecond != 4 {
		t.Errorf("level = %+v", l)
	}
	if l := analysis.ProbeLevelOf(1, analysis.PassSummary{}, 1); l.EffectiveParallelism != 0 || l.StatusCounts == nil {
		t.Errorf("an empty level: %+v, want parallelism 0 and status counts {}", l)
	}
}

func rl(limit, remaining int, reset string) *record.RateLimit {
	return &record.RateLimit{LimitRequests: &limit, RemainingRequests: &remaining, ResetRequests: reset}
}

func TestProbeWait(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 1, 1, 0, 0, s, 0, time.UTC) }
	five := 5.0
	tokens, tokLeft := 1000, 50
	for _, tc := range []struct {
		name string
		recs []record.Request
		next int
		want time.Duration
		why  string
	}{
		{"no headers", []record.Request{{OK: true, ReceivedAt: at(1)}}, 8, 0, ""},
		{"enough left", []record.Request{{ReceivedAt: at(1), RateLimit: rl(100, 50, "20s")}}, 8, 0, ""},
		{"too few left: until the reset", []record.Request{{ReceivedAt: at(1), RateLimit: rl(100, 3, "20s")}}, 8, 20 * time.Second, "3 requests remained"},
		{"the latest answer counts", []record.Request{
			{Index: 0, ReceivedAt: at(1), RateLimit: rl(100, 0, "20s")},
			{Index: 1, ReceivedAt: at(2), RateLimit: rl(100, 99, "59.5s")},
		}, 8, 0, ""},
		{"retry-after", []record.Request{{HTTPStatus: 429, ReceivedAt: at(1), RetryAfterSeconds: &five}}, 8, 5 * time.Second, "retry after 5s"},
		{"bounded", []record.Request{{ReceivedAt: at(1), RateLimit: rl(100, 0, "6m0s")}}, 8, time.Minute, "at most 1m0s"},
		{"tokens", []record.Request{{OK: true, PromptTokens: 10, CompletionTokens: 10, ReceivedAt: at(1),
			RateLimit: &record.RateLimit{LimitTokens: &tokens, RemainingTokens: &tokLeft, ResetTokens: "2s"}}}, 8, 2 * time.Second, "50 tokens remained"},
		{"unreadable reset", []record.Request{{ReceivedAt: at(1), RateLimit: rl(100, 0, "soon")}}, 8, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := analysis.ProbeWait(tc.recs, tc.next, time.Minute)
			if got != tc.want || !strings.Contains(why, tc.why) || (tc.want == 0) != (why == "") {
				t.Errorf("ProbeWait = %s %q, want %s %q", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestProbeLimitsOf(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 1, 1, 0, 0, s, 0, time.UTC) }
	ok := func(i, s int) record.Request {
		return record.Request{Index: i, OK: true, HTTPStatus: 200, SentAt: at(s), ReceivedAt: at(s + 1), PromptTokens: 10, CompletionTokens: 5}
	}
	limited := func(i, s int, msg string) record.Request {
		return record.Request{Index: i, HTTPStatus: 429, Error: msg, SentAt: at(s), ReceivedAt: at(s)}
	}
	tokLimit := 40000
	for _, tc := range []struct {
		name     string
		recs     []record.Request
		rpm, tpm *analysis.ProbeLimit
	}{
		{"nothing known", []record.Request{ok(0, 0)}, nil, nil},
		{"headers", []record.Request{
			{OK: true, ReceivedAt: at(1), RateLimit: &record.RateLimit{LimitRequests: ptr(500), LimitTokens: &tokLimit}},
			limited(1, 2, "Rate limit reached for requests"),
		}, &analysis.ProbeLimit{Value: 500, Source: "headers"}, &analysis.ProbeLimit{Value: 40000, Source: "headers"}},
		{"observed requests", []record.Request{ok(0, 0), ok(1, 1), ok(2, 2), limited(3, 3, "Rate limit reached for requests"), limited(4, 4, "")},
			&analysis.ProbeLimit{Value: 3, Source: "observed"}, nil},
		{"observed tokens", []record.Request{ok(0, 0), ok(1, 1), limited(2, 3, "Rate limit reached for tokens per min")},
			nil, &analysis.ProbeLimit{Value: 30, Source: "observed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := analysis.ProbeLimitsOf(tc.recs)
			if !sameLimit(l.RequestsPerMinute, tc.rpm) || !sameLimit(l.TokensPerMinute, tc.tpm) {
				t.Errorf("limits = %+v %+v, want %+v %+v", l.RequestsPerMinute, l.TokensPerMinute, tc.rpm, tc.tpm)
			}
		})
	}
}

func ptr(v int) *int { return &v }

func sameLimit(a, b *analysis.ProbeLimit) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
