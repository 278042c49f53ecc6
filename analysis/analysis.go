// Package analysis turns measured request records into the figures the tool
// reports: per-pass summaries, the comparison of the two passes, and the
// verdict. It only computes; it neither measures nor prints. Its functions are
// pure, so workflow code may call them too.
package analysis

import (
	"fmt"
	"math"
	"sort"

	"github.com/llmconc/llmconc/activities"
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
}

// Summarize computes a pass's summary. Requests that were never sent count as
// failed and take no part in the timings. The average latency is over the
// successful requests.
func Summarize(records []activities.RequestRecord) PassSummary {
	var s PassSummary
	type event struct {
		at    int64
		delta int
	}
	var events []event
	var first, last int64
	var latencySum float64
	for _, r := range records {
		if r.OK {
			s.Successful++
			latencySum += r.LatencySeconds
		} else {
			s.Failed++
		}
		if r.SentAt == "" || r.ReceivedAt == "" {
			continue
		}
		sent, recv := r.Sent().UnixNano(), r.Received().UnixNano()
		if len(events) == 0 || sent < first {
			first = sent
		}
		if len(events) == 0 || recv > last {
			last = recv
		}
		events = append(events, event{sent, +1}, event{recv, -1})
	}
	if s.Successful > 0 {
		s.AverageLatencySeconds = latencySum / float64(s.Successful)
	}
	if len(events) == 0 {
		return s
	}
	s.TotalSeconds = float64(last-first) / 1e9
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
}

// MaxFailedFraction is the share of failed requests in either pass above
// which no verdict is given.
const MaxFailedFraction = 0.2

// Conclude gives the verdict. seq, conc and cmp may be nil when a pass did not
// run. concurrency is the number of requests the concurrent pass kept in
// flight (C), requests is N.
func Conclude(seq, conc *PassSummary, cmp *Comparison, requests, concurrency int) Conclusion {
	for _, p := range []struct {
		name string
		s    *PassSummary
	}{{"sequential", seq}, {"concurrent", conc}} {
		if p.s == nil {
			continue
		}
		total := p.s.Successful + p.s.Failed
		if total > 0 && float64(p.s.Failed) > MaxFailedFraction*float64(total) {
			return Conclusion{VerdictInconclusive, fmt.Sprintf(
				"%d of %d requests failed in the %s pass, more than %.0f%%: too many to judge concurrency. "+
					"The errors are in the JSON (HTTP 429 means a rate limit).",
				p.s.Failed, total, p.name, 100*MaxFailedFraction)}
		}
	}
	if seq == nil || conc == nil || cmp == nil {
		return Conclusion{VerdictInconclusive, "Only one pass ran, so there is nothing to compare: run with -passes both for a verdict."}
	}
	limit := min(concurrency, requests)
	if limit < 2 {
		return Conclusion{VerdictInconclusive, "The concurrent pass kept only one request in flight (-concurrency 1), so it cannot show concurrency: raise -concurrency."}
	}
	ideal := 0.7 * float64(limit)
	switch {
	case cmp.Speedup >= ideal:
		return Conclusion{VerdictConcurrent, fmt.Sprintf(
			"The endpoint served %d requests at once: the concurrent pass took %.2fs against %.2fs one after another, "+
				"a speedup of %.1fx (effective parallelism %.1f). This key handles at least %d simultaneous requests.",
			limit, cmp.ConcurrentSeconds, cmp.SequentialSeconds, cmp.Speedup, cmp.EffectiveParallelism, limit)}
	case cmp.Speedup < 1.5:
		return Conclusion{VerdictSerialized, fmt.Sprintf(
			"Requests were served one after another: %d sent at once took %.2fs against %.2fs sequentially (speedup %.1fx). "+
				"This key or endpoint processes about one request at a time; sending them concurrently saves nothing.",
			limit, cmp.ConcurrentSeconds, cmp.SequentialSeconds, cmp.Speedup)}
	default:
		return Conclusion{VerdictPartiallyConcurrent, fmt.Sprintf(
			"Requests overlapped only in part: a speedup of %.1fx where %d was possible. Effective parallelism %.1f: "+
				"the endpoint works on about %.0f requests at once; the rest queue.",
			cmp.Speedup, limit, cmp.EffectiveParallelism, math.Round(cmp.EffectiveParallelism))}
	}
}
