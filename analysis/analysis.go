// Package analysis turns measured request records into the figures the tool
// reports: per-pass summaries, the comparison of the two passes, and the
// verdict. It only computes; it neither measures nor prints. Its functions are
// pure, so workflow code may call them too.
package analysis

import (
	"math"
	"sort"
	"strconv"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/stats"
)

// PassSummary holds the figures of one pass.
type PassSummary struct {
	// TotalSeconds runs from the first send to the last response.
	TotalSeconds          float64 `json:"total_seconds"`
	Successful            int     `json:"successful"`
	Failed                int     `json:"failed"`
	AverageLatencySeconds float64 `json:"average_latency_seconds"`
	// StartSpreadSeconds is the last send minus the first send.
	StartSpreadSeconds float64 `json:"start_spread_seconds"`
	// MaxInFlight is the largest number of requests that were sent and not
	// yet answered at one instant, computed from the timestamps.
	MaxInFlight int `json:"max_in_flight"`
	// DispatchGapSeconds adds up, over the pass, the time between a response
	// and the next send while nothing was in flight: the orchestration cost
	// inside TotalSeconds (for the sequential pass, Temporal's chaining).
	DispatchGapSeconds float64 `json:"dispatch_gap_seconds"`

	// Stream is set when any request of the pass was streamed.
	Stream bool `json:"stream"`
	// Latency describes latency_seconds of the successful requests (its mean
	// is AverageLatencySeconds). Null when no request succeeded.
	Latency *stats.Summary `json:"latency"`
	// TTFT describes ttft_seconds, over every record that has one. Null
	// when none has.
	TTFT *stats.Summary `json:"ttft"`
	// TPOT describes tpot_seconds, over every record that has one. Null
	// when none has.
	TPOT *stats.Summary `json:"tpot"`
	// ITL (inter-token latency) describes the chunk_gaps_seconds of all
	// successful streamed requests pooled together: each gap is one value.
	// Null when there is no gap.
	ITL *stats.Summary `json:"itl"`
	// OutputTokensPerSecond is the pass's aggregate output throughput: the
	// completion tokens of the successful requests over TotalSeconds. 0 when
	// TotalSeconds is 0.
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	// StatusCounts counts the requests by HTTP status, keyed by the status
	// in decimal ("200", "429"); "0" counts the requests that got no
	// response (timeout, dropped connection, never sent). The counts add up
	// to Successful + Failed. Never null.
	StatusCounts map[string]int `json:"status_counts"`
	// ErrorKinds counts the failed requests by error kind (timeout,
	// http_5xx, rate_limited, ..., and not_sent for the requests never
	// sent; see record.ErrorKindOf). The counts add up to Failed.
	// Absent when nothing failed.
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	// RateLimit is the tightest rate limit that the responses' x-ratelimit-*
	// headers showed, including those of failed requests (a 429 usually says
	// remaining 0). Null when no response had such a header.
	RateLimit *RateLimitSummary `json:"rate_limit"`
	// RetryAfterMaxSeconds is the largest Retry-After of the pass's
	// responses; absent when none had one.
	RetryAfterMaxSeconds *float64 `json:"retry_after_max_seconds,omitempty"`
	// SentAfterWorkerLoss counts the requests sent by a batch that Temporal
	// retried because its worker was lost (activity_attempt > 1): they left
	// late, not with the rest of the pass, and the pass's timing includes
	// the time it took to notice the loss.
	SentAfterWorkerLoss int `json:"sent_after_worker_loss,omitempty"`
	// ResentAfterWorkerLoss counts those of them that the lost attempt had
	// already sent (resent): the endpoint saw them twice; each is counted
	// once here, with its last send.
	ResentAfterWorkerLoss int `json:"resent_after_worker_loss,omitempty"`
	// ObservedServerConcurrency is how many requests the server was seen
	// generating at once, from the generation intervals of the streamed
	// responses (see ObservedConcurrency). Absent when nothing was
	// streamed.
	ObservedServerConcurrency *ObservedConcurrency `json:"observed_server_concurrency,omitempty"`
	// Connections counts the distinct connections the pass's requests went
	// out on (by their connection field).
	Connections int `json:"connections"`
	// ColdConnections counts the requests that connected or shook hands
	// when they were sent (connection_warm false) instead of going out on a
	// connection ready before.
	ColdConnections int `json:"cold_connections"`
}

// RateLimitSummary is the tightest of the rate limits a pass's responses
// reported, one window per limit that OpenAI's headers describe.
type RateLimitSummary struct {
	// Requests comes from the response with the fewest remaining requests
	// (x-ratelimit-*-requests). Null when no response said anything about
	// the request limit.
	Requests *RateLimitWindow `json:"requests"`
	// Tokens comes from the response with the fewest remaining tokens
	// (x-ratelimit-*-tokens), which need not be the same response. Null
	// when no response said anything about the token limit.
	Tokens *RateLimitWindow `json:"tokens"`
}

// RateLimitWindow is what one response said about one limit. Of the
// responses that said something about the limit, it is the one with the
// lowest remaining count; responses without a remaining count come last;
// ties go to the response received first, then to the lower index, so the
// choice does not depend on the order of the records.
type RateLimitWindow struct {
	// Remaining is x-ratelimit-remaining-requests or -tokens; null if the
	// response did not send it.
	Remaining *int `json:"remaining"`
	// Limit is x-ratelimit-limit-requests or -tokens of the same response;
	// null if it did not send it.
	Limit *int `json:"limit"`
	// Reset is x-ratelimit-reset-requests or -tokens of the same response,
	// as sent (e.g. "1s", "6m0s"); empty if it did not send it.
	Reset string `json:"reset"`
	// Index is the index of the request whose response it was.
	Index int `json:"index"`
}

// Summarize computes a pass's summary. Requests that were never sent count as
// failed and take no part in the timings. The average latency is over the
// successful requests. The result does not depend on the order of records.
func Summarize(records []record.Request) PassSummary {
	s := PassSummary{StatusCounts: map[string]int{}}
	s.Connections, s.ColdConnections = connectionCounts(records)
	type event struct {
		at    int64
		delta int
	}
	var events []event
	var first, last int64
	var latencies, ttfts, tpots, gaps []float64
	var completionTokens int
	var limits rateLimits
	for _, r := range records {
		s.StatusCounts[strconv.Itoa(r.HTTPStatus)]++
		s.Stream = s.Stream || r.Stream
		if r.TTFTSeconds != nil {
			ttfts = append(ttfts, *r.TTFTSeconds)
		}
		if r.TPOTSeconds != nil {
			tpots = append(tpots, *r.TPOTSeconds)
		}
		if ra := r.RetryAfterSeconds; ra != nil && !math.IsNaN(*ra) && !math.IsInf(*ra, 0) &&
			(s.RetryAfterMaxSeconds == nil || *ra > *s.RetryAfterMaxSeconds) {
			v := *ra
			s.RetryAfterMaxSeconds = &v
		}
		limits.add(r)
		if r.ActivityAttempt > 1 {
			s.SentAfterWorkerLoss++
		}
		if r.Resent {
			s.ResentAfterWorkerLoss++
		}
		if r.OK {
			s.Successful++
			latencies = append(latencies, r.LatencySeconds)
			completionTokens += r.CompletionTokens
			if r.Stream {
				gaps = append(gaps, r.ChunkGapsSeconds...)
			}
		} else {
			s.Failed++
			if s.ErrorKinds == nil {
				s.ErrorKinds = map[string]int{}
			}
			s.ErrorKinds[record.ErrorKindOf(r)]++
		}
		if r.SentAt.IsZero() || r.ReceivedAt.IsZero() {
			continue
		}
		sent, recv := r.SentAt.UnixNano(), r.ReceivedAt.UnixNano()
		if len(events) == 0 || sent < first {
			first = sent
		}
		if len(events) == 0 || recv > last {
			last = recv
		}
		events = append(events, event{sent, +1}, event{recv, -1})
	}
	s.Latency = stats.Describe(latencies)
	if s.Latency != nil {
		s.AverageLatencySeconds = s.Latency.Mean
	}
	s.TTFT = stats.Describe(ttfts)
	s.TPOT = stats.Describe(tpots)
	s.ITL = stats.Describe(gaps)
	s.RateLimit = limits.summary()
	if s.Stream {
		s.ObservedServerConcurrency = Observe(records)
	}
	if len(events) == 0 {
		return s
	}
	s.TotalSeconds = float64(last-first) / 1e9
	if s.TotalSeconds > 0 {
		s.OutputTokensPerSecond = float64(completionTokens) / s.TotalSeconds
	}
	// A response that arrives at the very instant of another send frees its
	// slot first.
	sort.Slice(events, func(i, j int) bool {
		if events[i].at != events[j].at {
			return events[i].at < events[j].at
		}
		return events[i].delta < events[j].delta
	})
	lastSend := first
	inFlight := 0
	var idleSince int64
	for _, e := range events {
		if e.delta > 0 {
			lastSend = e.at
			if inFlight == 0 && idleSince != 0 {
				s.DispatchGapSeconds += float64(e.at-idleSince) / 1e9
			}
		}
		inFlight += e.delta
		if inFlight > s.MaxInFlight {
			s.MaxInFlight = inFlight
		}
		if inFlight == 0 {
			idleSince = e.at
		}
	}
	s.StartSpreadSeconds = float64(lastSend-first) / 1e9
	return s
}

// rateLimits collects the tightest window of each limit (see
// RateLimitWindow).
type rateLimits struct {
	requests, tokens     *RateLimitWindow
	requestsAt, tokensAt int64 // when the chosen responses arrived
}

func (l *rateLimits) add(r record.Request) {
	rl := r.RateLimit
	if rl == nil {
		return
	}
	at := int64(math.MaxInt64) // a response without a time ranks last among equals
	if !r.ReceivedAt.IsZero() {
		at = r.ReceivedAt.UnixNano()
	}
	if rl.LimitRequests != nil || rl.RemainingRequests != nil || rl.ResetRequests != "" {
		w := &RateLimitWindow{Remaining: copyInt(rl.RemainingRequests), Limit: copyInt(rl.LimitRequests), Reset: rl.ResetRequests, Index: r.Index}
		if l.requests == nil || tighter(w, at, l.requests, l.requestsAt) {
			l.requests, l.requestsAt = w, at
		}
	}
	if rl.LimitTokens != nil || rl.RemainingTokens != nil || rl.ResetTokens != "" {
		w := &RateLimitWindow{Remaining: copyInt(rl.RemainingTokens), Limit: copyInt(rl.LimitTokens), Reset: rl.ResetTokens, Index: r.Index}
		if l.tokens == nil || tighter(w, at, l.tokens, l.tokensAt) {
			l.tokens, l.tokensAt = w, at
		}
	}
}

func (l *rateLimits) summary() *RateLimitSummary {
	if l.requests == nil && l.tokens == nil {
		return nil
	}
	return &RateLimitSummary{Requests: l.requests, Tokens: l.tokens}
}

// tighter reports whether window a, received at aAt, ranks before b.
func tighter(a *RateLimitWindow, aAt int64, b *RateLimitWindow, bAt int64) bool {
	switch {
	case a.Remaining != nil && b.Remaining == nil:
		return true
	case a.Remaining == nil && b.Remaining != nil:
		return false
	case a.Remaining != nil && *a.Remaining != *b.Remaining:
		return *a.Remaining < *b.Remaining
	case aAt != bAt:
		return aAt < bAt
	}
	return a.Index < b.Index
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Comparison sets the two passes side by side.
type Comparison struct {
	SequentialSeconds    float64 `json:"sequential_seconds"`
	ConcurrentSeconds    float64 `json:"concurrent_seconds"`
	TimeSavedSeconds     float64 `json:"time_saved_seconds"`
	Speedup              float64 `json:"speedup"`
	TimeReductionPercent float64 `json:"time_reduction_percent"`
	// EffectiveParallelism is successful concurrent requests × mean
	// sequential latency / concurrent total: how many requests the endpoint
	// really worked on at once.
	EffectiveParallelism float64 `json:"effective_parallelism"`
}

// Compare computes the comparison of a sequential and a concurrent pass.
func Compare(seq, conc PassSummary) Comparison {
	c := Comparison{
		SequentialSeconds: seq.TotalSeconds,
		ConcurrentSeconds: conc.TotalSeconds,
		TimeSavedSeconds:  seq.TotalSeconds - conc.TotalSeconds,
	}
	if conc.TotalSeconds > 0 {
		c.Speedup = seq.TotalSeconds / conc.TotalSeconds
		c.EffectiveParallelism = float64(conc.Successful) * seq.AverageLatencySeconds / conc.TotalSeconds
	}
	if seq.TotalSeconds > 0 {
		c.TimeReductionPercent = 100 * c.TimeSavedSeconds / seq.TotalSeconds
	}
	return c
}

// Verdicts.
const (
	VerdictConcurrent          = "concurrent"
	VerdictPartiallyConcurrent = "partially_concurrent"
	VerdictSerialized          = "serialized"
	VerdictInconclusive        = "inconclusive"
)

// Conclusion is the verdict and a sentence that explains it.
type Conclusion struct {
	Verdict string `json:"verdict"`
	Text    string `json:"text"`
	// Evidence names what decided the verdict: observed_server_concurrency
	// (the overlap of the streamed generation intervals), speedup (the
	// wall-clock comparison of the two passes) or none (inconclusive).
	// Absent for a sweep, and in documents written before it existed.
	Evidence string `json:"evidence,omitempty"`
}

// MaxFailedFraction is the share of failed requests in either pass above
// which no verdict is given.
const MaxFailedFraction = 0.2
