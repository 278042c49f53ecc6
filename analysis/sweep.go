package analysis

import (
	"fmt"
	"sort"

	"github.com/llmconc/llmconc/record"
)

// SweepLevel is one concurrency level of a sweep: a concurrent pass of N
// requests with C in flight.
type SweepLevel struct {
	Concurrency           int     `json:"concurrency"`
	Requests              int     `json:"requests"`
	RequestsPerSecond     float64 `json:"requests_per_second"`
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	P50LatencySeconds     float64 `json:"p50_latency_seconds"`
	P95LatencySeconds     float64 `json:"p95_latency_seconds"`
	ErrorRate             float64 `json:"error_rate"`
	Count429              int     `json:"count_429"`
	// Goodput is the level's goodput under the run's -slo; absent without.
	Goodput *GoodputSummary `json:"goodput,omitempty"`
}

// KneeGrowth is the throughput growth below which a sweep has reached its
// knee: the next level adds less than 10 %.
const KneeGrowth = 0.10

// Level computes a sweep level's figures from its pass: requests/s are the
// successful requests over the pass's total time.
func Level(concurrency int, recs []record.Request) SweepLevel {
	return LevelOf(concurrency, Summarize(recs))
}

// LevelOf computes a sweep level's figures from its pass's summary.
func LevelOf(concurrency int, s PassSummary) SweepLevel {
	l := SweepLevel{Concurrency: concurrency, Requests: s.Successful + s.Failed, OutputTokensPerSecond: s.OutputTokensPerSecond}
	if s.TotalSeconds > 0 {
		l.RequestsPerSecond = float64(s.Successful) / s.TotalSeconds
	}
	if s.Latency != nil {
		l.P50LatencySeconds, l.P95LatencySeconds = s.Latency.P50, s.Latency.P95
	}
	if n := s.Successful + s.Failed; n > 0 {
		l.ErrorRate = float64(s.Failed) / float64(n)
	}
	l.Count429 = s.StatusCounts["429"]
	return l
}

// Knee is the level at which more concurrency stops paying: the first level
// after which throughput grows by less than KneeGrowth, or after which
// errors appear. It returns 0 when the sweep never reached it (throughput
// still grew at the last level), and the levels sorted by concurrency.
func Knee(levels []SweepLevel) (int, []SweepLevel) {
	ls := append([]SweepLevel(nil), levels...)
	sort.Slice(ls, func(i, j int) bool { return ls[i].Concurrency < ls[j].Concurrency })
	for i := 0; i+1 < len(ls); i++ {
		cur, next := ls[i], ls[i+1]
		if cur.ErrorRate > 0 {
			if i == 0 {
				return cur.Concurrency, ls
			}
			return ls[i-1].Concurrency, ls
		}
		if next.ErrorRate > 0 || next.RequestsPerSecond < cur.RequestsPerSecond*(1+KneeGrowth) {
			return cur.Concurrency, ls
		}
	}
	return 0, ls
}

// SweepConclusion says what the sweep found, naming the knee.
func SweepConclusion(knee int, levels []SweepLevel) Conclusion {
	if len(levels) == 0 {
		return Conclusion{Verdict: VerdictInconclusive, Text: "The sweep ran no level."}
	}
	last := levels[len(levels)-1]
	if knee == 0 {
		return Conclusion{Verdict: VerdictConcurrent, Text: fmt.Sprintf(
			"Throughput still grew at the highest level tried: this key sustains at least %d simultaneous requests "+
				"(%.1f requests/s); sweep higher to find its limit.", last.Concurrency, last.RequestsPerSecond)}
	}
	var at SweepLevel
	for _, l := range levels {
		if l.Concurrency == knee {
			at = l
		}
	}
	verdict := VerdictPartiallyConcurrent
	if knee == 1 {
		verdict = VerdictSerialized
	}
	beyond := "requests queue"
	for _, l := range levels {
		if l.Concurrency > knee && l.ErrorRate > 0 {
			beyond = "requests fail"
			if l.Count429 > 0 {
				beyond = "requests are rate-limited (HTTP 429)"
			}
			break
		}
	}
	return Conclusion{Verdict: verdict, Text: fmt.Sprintf(
		"This key sustains about %d simultaneous requests (%.1f requests/s, p95 latency %.2fs); beyond that, %s.",
		knee, at.RequestsPerSecond, at.P95LatencySeconds, beyond)}
}
