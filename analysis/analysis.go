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
	// Workers counts the sent requests by the worker that sent them (its
	// Temporal identity; see Workers). Absent when no record names a
	// worker.
	Workers map[string]int `json:"workers,omitempty"`
	// ClockOffsets is each worker's estimated clock offset from the
	// Temporal server's over the pass, in seconds (see ClockOffsets);
	// ClockOffsetMaxSeconds the largest in absolute value. Absent when no
	// record has an estimate.
	ClockOffsets          map[string]ClockOffset `json:"clock_offsets,omitempty"`
	ClockOffsetMaxSeconds *float64               `json:"clock_offset_max_seconds,omitempty"`
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
	s := PassSummary{StatusCounts: statusCounts(records), ErrorKinds: errorKinds(records)}
	s.Failed = sumOf(s.ErrorKinds)
	s.Successful = len(records) - s.Failed
	s.SentAfterWorkerLoss, s.ResentAfterWorkerLoss = workerLossCounts(records)
	s.Connections, s.ColdConnections = connectionCounts(records)
	s.Workers, s.ClockOffsets = Workers(records), ClockOffsets(records)
	s.ClockOffsetMaxSeconds = ClockOffsetMax(s.ClockOffsets)
	s.Stream = anyStreamed(records)
	s.Latency = stats.Describe(successfulLatencies(records))
	if s.Latency != nil {
		s.AverageLatencySeconds = s.Latency.Mean
	}
	s.TTFT = stats.Describe(present(records, func(r record.Request) *float64 { return r.TTFTSeconds }))
	s.TPOT = stats.Describe(present(records, func(r record.Request) *float64 { return r.TPOTSeconds }))
	s.ITL = stats.Describe(chunkGaps(records))
	s.RateLimit = tightestRateLimits(records)
	s.RetryAfterMaxSeconds = retryAfterMax(records)
	if s.Stream {
		s.ObservedServerConcurrency = Observe(records)
	}
	t, ok := timingOf(records)
	if !ok {
		return s
	}
	s.TotalSeconds = float64(t.last-t.first) / 1e9
	if s.TotalSeconds > 0 {
		s.OutputTokensPerSecond = float64(completionTokens(records)) / s.TotalSeconds
	}
	s.StartSpreadSeconds = float64(t.lastSend-t.first) / 1e9
	s.MaxInFlight = t.maxInFlight
	s.DispatchGapSeconds = t.dispatchGapSeconds
	return s
}

// statusCounts counts the requests by HTTP status in decimal ("0": no
// response).
func statusCounts(records []record.Request) map[string]int {
	counts := map[string]int{}
	for _, r := range records {
		counts[strconv.Itoa(r.HTTPStatus)]++
	}
	return counts
}

// errorKinds counts the failed requests by error kind; nil when none failed.
func errorKinds(records []record.Request) map[string]int {
	var kinds map[string]int
	for _, r := range records {
		if r.OK {
			continue
		}
		if kinds == nil {
			kinds = map[string]int{}
		}
		kinds[record.ErrorKindOf(r)]++
	}
	return kinds
}

func sumOf(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// workerLossCounts counts the requests sent by a batch that Temporal retried
// after losing its worker, and those of them sent a second time.
func workerLossCounts(records []record.Request) (sent, resent int) {
	for _, r := range records {
		if r.ActivityAttempt > 1 {
			sent++
		}
		if r.Resent {
			resent++
		}
	}
	return sent, resent
}

func anyStreamed(records []record.Request) bool {
	for _, r := range records {
		if r.Stream {
			return true
		}
	}
	return false
}

func successfulLatencies(records []record.Request) []float64 {
	var out []float64
	for _, r := range records {
		if r.OK {
			out = append(out, r.LatencySeconds)
		}
	}
	return out
}

// present returns the values that field holds, over the records that have
// one.
func present(records []record.Request, field func(record.Request) *float64) []float64 {
	var out []float64
	for _, r := range records {
		if v := field(r); v != nil {
			out = append(out, *v)
		}
	}
	return out
}

// chunkGaps pools the chunk gaps of the successful streamed requests.
func chunkGaps(records []record.Request) []float64 {
	var out []float64
	for _, r := range records {
		if r.OK && r.Stream {
			out = append(out, r.ChunkGapsSeconds...)
		}
	}
	return out
}

func completionTokens(records []record.Request) int {
	n := 0
	for _, r := range records {
		if r.OK {
			n += r.CompletionTokens
		}
	}
	return n
}

// retryAfterMax is the largest finite Retry-After; nil when none had one.
func retryAfterMax(records []record.Request) *float64 {
	var longest *float64
	for _, r := range records {
		if ra := r.RetryAfterSeconds; ra != nil && !math.IsNaN(*ra) && !math.IsInf(*ra, 0) &&
			(longest == nil || *ra > *longest) {
			v := *ra
			longest = &v
		}
	}
	return longest
}

// passTiming is what the send and receive instants of a pass's requests
// say, in Unix nanoseconds.
type passTiming struct {
	first, last, lastSend int64
	maxInFlight           int
	// dispatchGapSeconds adds up the time between a response and the next
	// send while nothing was in flight.
	dispatchGapSeconds float64
}

// inFlightChange is a send (+1) or a response (-1) at an instant.
type inFlightChange struct {
	at    int64
	delta int
}

// timingOf computes a pass's timing from the requests that were sent and
// answered; false when there is none.
func timingOf(records []record.Request) (passTiming, bool) {
	first, last, ok := sendSpan(records)
	if !ok {
		return passTiming{}, false
	}
	t := passTiming{first: first, last: last, lastSend: first}
	inFlight := 0
	var idleSince int64
	for _, e := range inFlightChanges(records) {
		if e.delta > 0 {
			t.lastSend = e.at
			if inFlight == 0 && idleSince != 0 {
				t.dispatchGapSeconds += float64(e.at-idleSince) / 1e9
			}
		}
		inFlight += e.delta
		t.maxInFlight = max(t.maxInFlight, inFlight)
		if inFlight == 0 {
			idleSince = e.at
		}
	}
	return t, true
}

// sendSpan is the pass's span in Unix nanoseconds: its first send and its
// last response, over the requests that were sent and answered; false when
// there is none. (A clock may put a response before its own send: each end
// is taken on its own.)
func sendSpan(records []record.Request) (first, last int64, ok bool) {
	for _, r := range records {
		if r.SentAt.IsZero() || r.ReceivedAt.IsZero() {
			continue
		}
		s, e := r.SentAt.UnixNano(), r.ReceivedAt.UnixNano()
		if !ok || s < first {
			first = s
		}
		if !ok || e > last {
			last = e
		}
		ok = true
	}
	return first, last, ok
}

// inFlightChanges lists the sends and responses of the requests that have
// both, in time order; a response that arrives at the very instant of
// another send frees its slot first.
func inFlightChanges(records []record.Request) []inFlightChange {
	var events []inFlightChange
	for _, r := range records {
		if r.SentAt.IsZero() || r.ReceivedAt.IsZero() {
			continue
		}
		events = append(events, inFlightChange{r.SentAt.UnixNano(), +1}, inFlightChange{r.ReceivedAt.UnixNano(), -1})
	}
	sort.Slice(events, func(i, j int) bool {
		if events[i].at != events[j].at {
			return events[i].at < events[j].at
		}
		return events[i].delta < events[j].delta
	})
	return events
}

// tightestRateLimits is the tightest window of each limit the responses
// reported; nil when none did.
func tightestRateLimits(records []record.Request) *RateLimitSummary {
	var limits rateLimits
	for _, r := range records {
		limits.add(r)
	}
	return limits.summary()
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
