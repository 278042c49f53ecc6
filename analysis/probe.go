package analysis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/llmconc/llmconc/record"
)

// A probe (`starter probe`) raises the concurrency level by level and
// finds how far the key can be pushed. The decisions are here, pure: the
// workflow asks ProbeStop and ProbeWait between levels, and the report
// sums the levels up with SummarizeProbe.

// ProbeLevel is one level of a probe: a concurrent pass of Requests
// requests with Concurrency in flight.
type ProbeLevel struct {
	Concurrency  int            `json:"concurrency"`
	Requests     int            `json:"requests"`
	Successful   int            `json:"successful"`
	Failed       int            `json:"failed"`
	StatusCounts map[string]int `json:"status_counts"`
	// EffectiveParallelism is how many requests the endpoint worked on at
	// once: the successful requests × the baseline latency (the mean
	// latency of the first level, one request at a time) over the level's
	// total time.
	EffectiveParallelism float64 `json:"effective_parallelism"`
	P50LatencySeconds    float64 `json:"p50_latency_seconds"`
	P95LatencySeconds    float64 `json:"p95_latency_seconds"`
	RequestsPerSecond    float64 `json:"requests_per_second"`
	Count429             int     `json:"count_429"`
	// Goodput is the level's goodput under the probe's -slo (as Goodput
	// counts it); absent without.
	Goodput *GoodputSummary `json:"goodput,omitempty"`
}

// Probe thresholds.
const (
	// ProbeServedShare is the share of a level its effective parallelism
	// must reach for the level to count as served.
	ProbeServedShare = 0.8
	// ProbeStopShare: a level whose effective parallelism is below this
	// share of the level, or with more than this share of 429s, is past
	// the limit, and the probe stops.
	ProbeStopShare = 0.5
)

// ProbeBaseline is the latency that the effective parallelism of every
// level is measured against: the mean latency of the successful requests
// of the first level that had any (one request at a time); 0 when none
// had.
func ProbeBaseline(first PassSummary) float64 { return first.AverageLatencySeconds }

// ProbeLevelOf computes a probe level's figures from its pass's summary
// and the probe's baseline latency.
func ProbeLevelOf(concurrency int, s PassSummary, baseline float64) ProbeLevel {
	sl := LevelOf(concurrency, s)
	l := ProbeLevel{
		Concurrency: concurrency, Requests: s.Successful + s.Failed, Successful: s.Successful, Failed: s.Failed,
		StatusCounts: s.StatusCounts, P50LatencySeconds: sl.P50LatencySeconds, P95LatencySeconds: sl.P95LatencySeconds,
		RequestsPerSecond: sl.RequestsPerSecond, Count429: sl.Count429,
	}
	if l.StatusCounts == nil {
		l.StatusCounts = map[string]int{}
	}
	if s.TotalSeconds > 0 {
		l.EffectiveParallelism = float64(s.Successful) * baseline / s.TotalSeconds
	}
	return l
}

// served reports whether the endpoint served level l in parallel: its
// effective parallelism is at least ProbeServedShare of the level, with no
// 429.
func (l ProbeLevel) served() bool {
	return l.Count429 == 0 && l.EffectiveParallelism >= ProbeServedShare*float64(l.Concurrency)
}

// ProbeStop says why the probe stops after level l, which is clearly past
// the limit: more than half of its requests were rate-limited, or its
// effective parallelism fell below half the level. "" to go on.
func ProbeStop(l ProbeLevel) string {
	switch {
	case l.Requests > 0 && float64(l.Count429) > ProbeStopShare*float64(l.Requests):
		return fmt.Sprintf("%d of the %d requests at concurrency %d were rate-limited (HTTP 429)", l.Count429, l.Requests, l.Concurrency)
	case l.EffectiveParallelism < ProbeStopShare*float64(l.Concurrency):
		return fmt.Sprintf("at concurrency %d the endpoint served only %.2f requests at once, under half the level", l.Concurrency, l.EffectiveParallelism)
	}
	return ""
}

// ProbeWait is how long the probe waits before a level of next requests
// for the rate-limit window to reset, from the responses of the level
// before, recs: when the latest response's x-ratelimit-remaining-requests
// (or -tokens, at the level's tokens per request) is too low for the next
// level, until its x-ratelimit-reset-*; after a 429, at least its longest
// Retry-After. At most maxWait; 0 and "" when there is no need.
func ProbeWait(recs []record.Request, next int, maxWait time.Duration) (time.Duration, string) {
	var wait time.Duration
	var why []string
	if rl := latestRateLimit(recs); rl != nil {
		if rl.RemainingRequests != nil && *rl.RemainingRequests < next {
			if d, ok := parseReset(rl.ResetRequests); ok && d > 0 {
				wait = max(wait, d)
				why = append(why, fmt.Sprintf("%d requests remained of the window (x-ratelimit-remaining-requests), fewer than the next level's %d; it resets in %s", *rl.RemainingRequests, next, rl.ResetRequests))
			}
		}
		need := next * tokensPerRequest(recs)
		if rl.RemainingTokens != nil && *rl.RemainingTokens < need {
			if d, ok := parseReset(rl.ResetTokens); ok && d > 0 {
				wait = max(wait, d)
				why = append(why, fmt.Sprintf("%d tokens remained of the window (x-ratelimit-remaining-tokens), fewer than the next level's about %d; it resets in %s", *rl.RemainingTokens, need, rl.ResetTokens))
			}
		}
	}
	if ra := retryAfterMax(recs); ra != nil && *ra > 0 {
		d := time.Duration(*ra * float64(time.Second))
		if d > wait {
			wait = d
		}
		why = append(why, fmt.Sprintf("a 429 asked to retry after %gs", *ra))
	}
	if wait <= 0 {
		return 0, ""
	}
	text := strings.Join(why, "; ")
	if wait > maxWait {
		wait = maxWait
		text += fmt.Sprintf(" (waited at most %s, -max-wait)", maxWait)
	}
	return wait, text
}

// latestRateLimit is the rate-limit headers of the response received last:
// the window as it stands at the end of the level.
func latestRateLimit(recs []record.Request) *record.RateLimit {
	var latest *record.Request
	for i := range recs {
		r := &recs[i]
		if r.RateLimit == nil {
			continue
		}
		if latest == nil || r.ReceivedAt.After(latest.ReceivedAt) || (r.ReceivedAt.Equal(latest.ReceivedAt) && r.Index > latest.Index) {
			latest = r
		}
	}
	if latest == nil {
		return nil
	}
	return latest.RateLimit
}

// tokensPerRequest is the mean tokens (prompt and completion) of the
// successful requests; 0 when none succeeded.
func tokensPerRequest(recs []record.Request) int {
	n, sum := 0, 0
	for _, r := range recs {
		if r.OK {
			n++
			sum += r.PromptTokens + r.CompletionTokens
		}
	}
	if n == 0 {
		return 0
	}
	return (sum + n - 1) / n
}

// parseReset reads an x-ratelimit-reset-* value: a Go-style duration as
// OpenAI sends it ("1s", "6m0s", "59.5s", "20ms"), or a number of seconds.
func parseReset(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, d >= 0
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err == nil && secs >= 0 && secs < 1e6 {
		return time.Duration(secs * float64(time.Second)), true
	}
	return 0, false
}

// Sources of a probe's limits.
const (
	LimitFromHeaders  = "headers"
	LimitFromObserved = "observed"
)

// ProbeLimit is one rate limit of the key, and where it comes from.
type ProbeLimit struct {
	Value int `json:"value"`
	// Source is "headers" (x-ratelimit-limit-*) or "observed" (from the
	// pattern of the 429s: what was accepted in the minute before the
	// first one).
	Source string `json:"source"`
}

// ProbeLimits are the key's rate limits, each null when unknown.
type ProbeLimits struct {
	RequestsPerMinute *ProbeLimit `json:"requests_per_minute"`
	TokensPerMinute   *ProbeLimit `json:"tokens_per_minute"`
}

// ProbeLimitsOf finds the key's limits in a probe's records (its warm-up's
// too): from the x-ratelimit-limit-* headers of the latest response that
// had them; without them, from the 429s: the requests (or, when the first
// 429 says it is about tokens, the tokens) accepted in the minute before
// the first 429.
func ProbeLimitsOf(recs []record.Request) ProbeLimits {
	var l ProbeLimits
	var reqAt, tokAt time.Time
	for _, r := range recs {
		rl := r.RateLimit
		if rl == nil {
			continue
		}
		if rl.LimitRequests != nil && (l.RequestsPerMinute == nil || !r.ReceivedAt.Before(reqAt)) {
			l.RequestsPerMinute, reqAt = &ProbeLimit{Value: *rl.LimitRequests, Source: LimitFromHeaders}, r.ReceivedAt
		}
		if rl.LimitTokens != nil && (l.TokensPerMinute == nil || !r.ReceivedAt.Before(tokAt)) {
			l.TokensPerMinute, tokAt = &ProbeLimit{Value: *rl.LimitTokens, Source: LimitFromHeaders}, r.ReceivedAt
		}
	}
	first, ok := first429(recs)
	if !ok {
		return l
	}
	requests, tokens := 0, 0
	for _, r := range recs {
		if r.OK && r.WasSent() && !r.SentAt.After(first.SentAt) && r.SentAt.After(first.SentAt.Add(-time.Minute)) {
			requests++
			tokens += r.PromptTokens + r.CompletionTokens
		}
	}
	aboutTokens := strings.Contains(strings.ToLower(first.Error), "token")
	switch {
	case aboutTokens && l.TokensPerMinute == nil && tokens > 0:
		l.TokensPerMinute = &ProbeLimit{Value: tokens, Source: LimitFromObserved}
	case !aboutTokens && l.RequestsPerMinute == nil && requests > 0:
		l.RequestsPerMinute = &ProbeLimit{Value: requests, Source: LimitFromObserved}
	}
	return l
}

// first429 is the 429 sent first.
func first429(recs []record.Request) (record.Request, bool) {
	var first record.Request
	found := false
	for _, r := range recs {
		if r.HTTPStatus != 429 || !r.WasSent() {
			continue
		}
		if !found || r.SentAt.Before(first.SentAt) || (r.SentAt.Equal(first.SentAt) && r.Index < first.Index) {
			first, found = r, true
		}
	}
	return first, found
}

// ProbeSummary is what a probe found.
type ProbeSummary struct {
	// Levels are the levels the probe ran, by concurrency.
	Levels []ProbeLevel `json:"levels"`
	// MaxConcurrencyServed is the largest level whose effective
	// parallelism is at least 0.8 × the level, with no 429; 0 when none.
	MaxConcurrencyServed int `json:"max_concurrency_served"`
	// KneeConcurrency is the knee, by the rule of a sweep (Knee): null when
	// throughput still grew at the last level.
	KneeConcurrency *int `json:"knee_concurrency"`
	// First429Concurrency is the lowest level with a 429; null if none.
	First429Concurrency *int        `json:"first_429_concurrency"`
	Limits              ProbeLimits `json:"limits"`
	// RecommendedConcurrency is the concurrency a client should use: the
	// smaller of MaxConcurrencyServed and the knee (0 when nothing
	// succeeded); Recommendation says why, in one sentence.
	RecommendedConcurrency int    `json:"recommended_concurrency"`
	Recommendation         string `json:"recommendation"`
	// SLO is the probe's -slo, which caps the recommendation
	// (SummarizeProbeSLO); absent without.
	SLO *SLO `json:"slo,omitempty"`
}

// SummarizeProbe sums up a probe's levels and the limits found in its
// records.
func SummarizeProbe(levels []ProbeLevel, limits ProbeLimits) ProbeSummary {
	ls := append([]ProbeLevel(nil), levels...)
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Concurrency < ls[j].Concurrency })
	p := ProbeSummary{Levels: ls, Limits: limits}
	sweep := make([]SweepLevel, len(ls))
	for i, l := range ls {
		if l.served() {
			p.MaxConcurrencyServed = l.Concurrency
		}
		if l.Count429 > 0 && p.First429Concurrency == nil {
			c := l.Concurrency
			p.First429Concurrency = &c
		}
		sweep[i] = SweepLevel{Concurrency: l.Concurrency, Requests: l.Requests, RequestsPerSecond: l.RequestsPerSecond,
			P50LatencySeconds: l.P50LatencySeconds, P95LatencySeconds: l.P95LatencySeconds, Count429: l.Count429}
		if l.Requests > 0 {
			sweep[i].ErrorRate = float64(l.Failed) / float64(l.Requests)
		}
	}
	if knee, _ := Knee(sweep); knee > 0 {
		p.KneeConcurrency = &knee
	}
	p.RecommendedConcurrency, p.Recommendation = recommend(p)
	return p
}

// recommend is the concurrency a client should use and why.
func recommend(p ProbeSummary) (int, string) {
	ls := p.Levels
	switch {
	case len(ls) == 0:
		return 0, "The probe ran no level."
	case p.MaxConcurrencyServed == 0:
		for _, l := range ls {
			if l.Successful > 0 {
				return 1, fmt.Sprintf("Use 1 request at a time: even at concurrency %d %s.", ls[0].Concurrency, pastWhy(ls[0]))
			}
		}
		return 0, "No request succeeded: the probe found no concurrency that this key is served at."
	case p.KneeConcurrency != nil && *p.KneeConcurrency < p.MaxConcurrencyServed:
		k := *p.KneeConcurrency
		at, next := levelAt(ls, k), levelAfter(ls, k)
		return k, fmt.Sprintf("Use %d requests at a time: throughput stops growing past %d (the knee; %.1f requests/s, p95 latency %.2fs), so more requests in flight only wait (p95 %.2fs at %d).",
			k, k, at.RequestsPerSecond, at.P95LatencySeconds, next.P95LatencySeconds, next.Concurrency)
	}
	m := p.MaxConcurrencyServed
	at := levelAt(ls, m)
	if ls[len(ls)-1].Concurrency == m {
		return m, fmt.Sprintf("Use %d requests at a time, the highest level probed: the endpoint served it in parallel (effective parallelism %.1f) without a 429; probe higher (-max-concurrency) to find the limit.",
			m, at.EffectiveParallelism)
	}
	next := levelAfter(ls, m)
	return m, fmt.Sprintf("Use %d requests at a time: the endpoint served %d in parallel (effective parallelism %.1f) without a 429, while at %d %s.",
		m, m, at.EffectiveParallelism, next.Concurrency, pastWhy(next))
}

// pastWhy says how level l was past the limit.
func pastWhy(l ProbeLevel) string {
	switch {
	case l.Count429 > 0:
		return fmt.Sprintf("it got %d rate-limited answers (HTTP 429) of %d", l.Count429, l.Requests)
	case l.Successful < l.Requests:
		return fmt.Sprintf("%d of its %d requests failed", l.Requests-l.Successful, l.Requests)
	}
	return fmt.Sprintf("it served only %.1f at once (p95 latency %.2fs)", l.EffectiveParallelism, l.P95LatencySeconds)
}

// levelAt is the level of concurrency c.
func levelAt(ls []ProbeLevel, c int) ProbeLevel {
	for _, l := range ls {
		if l.Concurrency == c {
			return l
		}
	}
	return ProbeLevel{Concurrency: c}
}

// levelAfter is the level after concurrency c, or the level at c when it
// is the last.
func levelAfter(ls []ProbeLevel, c int) ProbeLevel {
	for _, l := range ls {
		if l.Concurrency > c {
			return l
		}
	}
	return levelAt(ls, c)
}
