package analysis

import (
	"fmt"
	"math"

	"github.com/llmconc/llmconc/record"
)

// ConcurrentShare is the share of min(C, N) that the speedup, or the
// observed server concurrency, must reach for the verdict concurrent.
const ConcurrentShare = 0.7

// SpeedupTolerance is how far above min(C, N) a speedup may go before it is
// called impossible: 20 %. Concurrency alone cannot make N requests finish
// more than min(C, N) times faster than one after another; the tolerance
// absorbs the spread of latencies from request to request (the concurrent
// pass's slowest request may be faster than the sequential pass's). The
// sequential pass's dispatch gaps (Temporal's chaining between requests,
// which the concurrent pass does not pay) are taken out first.
const SpeedupTolerance = 0.2

// Evidence names what decided a verdict.
const (
	EvidenceObserved = "observed_server_concurrency"
	EvidenceSpeedup  = "speedup"
	EvidenceNone     = "none"
)

// Conclude gives the verdict. seq, conc and cmp may be nil when a pass did not
// run. concurrency is the number of requests the concurrent pass kept in
// flight (C), requests is N.
//
// When the concurrent pass's observed server concurrency is available, it
// decides: max 1 (generation intervals never overlapped) is serialized,
// max ≥ 0.7 × min(C, N) concurrent, anything between partially concurrent,
// whatever the wall-clock speedup. Otherwise the speedup decides, unless it
// is impossible (above min(C, N) beyond SpeedupTolerance): the endpoint's
// speed changed between the passes, and the verdict is inconclusive.
func Conclude(seq, conc *PassSummary, cmp *Comparison, requests, concurrency int) Conclusion {
	passes := []namedPass{{record.PassSequential, seq}, {record.PassConcurrent, conc}}
	if c, ok := tooManyFailures(passes); ok {
		return c
	}
	if c, ok := workerLoss(passes); ok {
		return c
	}
	onePass := Conclusion{Verdict: VerdictInconclusive, Evidence: EvidenceNone, Text: "Only one pass ran, so there is nothing to compare: run with -passes both for a verdict."}
	if conc == nil {
		return onePass
	}
	limit := min(concurrency, requests)
	if limit < 2 {
		return Conclusion{Verdict: VerdictInconclusive, Evidence: EvidenceNone, Text: "The concurrent pass kept only one request in flight (-concurrency 1), so it cannot show concurrency: raise -concurrency."}
	}
	impossible := cmp != nil && seq != nil && ImpossibleSpeedup(*seq, *conc, limit)
	o := conc.ObservedServerConcurrency
	// No overlap means one at a time only if requests were in flight
	// together to overlap: a concurrent pass whose requests went out one
	// by one (a late shard, a worker that sent them in turn) shows none.
	notTogether := o != nil && o.Available && o.Max <= 1 && conc.MaxInFlight < 2
	if o != nil && o.Available && !notTogether {
		return observedConclusion(o, cmp, limit, conc.MaxInFlight, impossible)
	}
	if seq == nil || cmp == nil {
		if o != nil && o.Reason != "" {
			onePass.Text = "Only one pass ran, and its streams cannot show the server's concurrency (" + o.Reason + "): run with -passes both for a verdict."
		}
		return onePass
	}
	why := whyNotObserved(o, notTogether)
	if impossible {
		return Conclusion{Verdict: VerdictInconclusive, Evidence: EvidenceNone, Text: impossibleText(cmp, limit) + why}
	}
	return speedupConclusion(cmp, limit, why)
}

// namedPass is a pass's summary (nil when it did not run) with its name.
type namedPass struct {
	name record.Pass
	s    *PassSummary
}

// tooManyFailures is the inconclusive verdict of the first pass in which
// more than MaxFailedFraction of the requests failed; false when none.
func tooManyFailures(passes []namedPass) (Conclusion, bool) {
	for _, p := range passes {
		if p.s == nil {
			continue
		}
		total := p.s.Successful + p.s.Failed
		if total > 0 && float64(p.s.Failed) > MaxFailedFraction*float64(total) {
			// Name only what occurred: no "HTTP 429 means…" without a 429.
			what := "The errors are in the JSON."
			if kinds := failureKinds(p.s); kinds != "" {
				what = "They were: " + kinds + "; the errors are in the JSON."
			}
			return Conclusion{Verdict: VerdictInconclusive, Evidence: EvidenceNone, Text: fmt.Sprintf(
				"%d of %d requests failed in the %s pass, more than %.0f%%: too many to judge concurrency. %s",
				p.s.Failed, total, p.name, 100*MaxFailedFraction, what)}, true
		}
	}
	return Conclusion{}, false
}

// workerLoss is the inconclusive verdict of the first pass that a batch
// retried after a lost worker sent late; false when none.
func workerLoss(passes []namedPass) (Conclusion, bool) {
	for _, p := range passes {
		if p.s != nil && p.s.SentAfterWorkerLoss > 0 {
			return Conclusion{Verdict: VerdictInconclusive, Evidence: EvidenceNone, Text: fmt.Sprintf(
				"Temporal retried a batch of the %s pass (a worker was lost, or could not run it), and the retry sent %d requests late "+
					"(%d of them a second time; each is counted once). The pass's timing includes that recovery: run again for a verdict.",
				p.name, p.s.SentAfterWorkerLoss, p.s.ResentAfterWorkerLoss)}, true
		}
	}
	return Conclusion{}, false
}

// whyNotObserved is the sentence that says why the streams did not decide
// a verdict: o is the concurrent pass's observed concurrency (nil when
// nothing was streamed); notTogether, that no two of its requests were in
// flight at once.
func whyNotObserved(o *ObservedConcurrency, notTogether bool) string {
	switch {
	case notTogether:
		return " The streams could not decide: the concurrent pass never had two requests in flight at once, so its responses could not overlap."
	case o != nil:
		return " The streams could not decide: " + o.Reason + "."
	}
	return " The responses were not streamed, so the verdict rests on the wall-clock speedup alone (streaming, the default, lets the server's concurrency be observed directly)."
}

// speedupConclusion is the verdict decided by the wall-clock speedup, with
// limit = min(C, N); why ends its text.
func speedupConclusion(cmp *Comparison, limit int, why string) Conclusion {
	ideal := ConcurrentShare * float64(limit)
	switch {
	case cmp.Speedup >= ideal:
		return Conclusion{Verdict: VerdictConcurrent, Evidence: EvidenceSpeedup, Text: fmt.Sprintf(
			"The endpoint served %d requests at once: the concurrent pass took %.2fs against %.2fs one after another, "+
				"a speedup of %.1fx (effective parallelism %.1f). This key handles at least %d simultaneous requests.",
			limit, cmp.ConcurrentSeconds, cmp.SequentialSeconds, cmp.Speedup, cmp.EffectiveParallelism, limit) + why}
	case cmp.Speedup < 1.5:
		return Conclusion{Verdict: VerdictSerialized, Evidence: EvidenceSpeedup, Text: fmt.Sprintf(
			"Requests were served one after another: %d sent at once took %.2fs against %.2fs sequentially (speedup %.1fx). "+
				"This key or endpoint processes about one request at a time; sending them concurrently saves nothing.",
			limit, cmp.ConcurrentSeconds, cmp.SequentialSeconds, cmp.Speedup) + why}
	default:
		return Conclusion{Verdict: VerdictPartiallyConcurrent, Evidence: EvidenceSpeedup, Text: fmt.Sprintf(
			"Requests overlapped only in part: a speedup of %.1fx where %d was possible. Effective parallelism %.1f: "+
				"the endpoint works on about %.0f requests at once; the rest queue.",
			cmp.Speedup, limit, cmp.EffectiveParallelism, math.Round(cmp.EffectiveParallelism)) + why}
	}
}

// ImpossibleSpeedup reports whether the speedup of conc over seq is more
// than concurrency can give: with the sequential pass's dispatch gaps taken
// out, above limit = min(C, N) by more than SpeedupTolerance.
func ImpossibleSpeedup(seq, conc PassSummary, limit int) bool {
	if conc.TotalSeconds <= 0 || limit < 1 {
		return false
	}
	net := (seq.TotalSeconds - seq.DispatchGapSeconds) / conc.TotalSeconds
	return net > float64(limit)*(1+SpeedupTolerance)
}

func impossibleText(cmp *Comparison, limit int) string {
	return fmt.Sprintf("The speedup of %.1fx (%.2fs one after another, %.2fs at once) is impossible: %d requests in flight can at most "+
		"make the pass %dx faster (%.0f%% tolerance). The endpoint's speed changed between the passes (load on the server or "+
		"the machine, a cold start), so the wall-clock comparison says nothing about concurrency.",
		cmp.Speedup, cmp.SequentialSeconds, cmp.ConcurrentSeconds, limit, limit, 100*SpeedupTolerance)
}

// observedConclusion is the verdict decided by the observed server
// concurrency.
func observedConclusion(o *ObservedConcurrency, cmp *Comparison, limit, inFlight int, impossible bool) Conclusion {
	speed := ""
	switch {
	case cmp == nil:
	case impossible:
		speed = " " + impossibleText(cmp, limit) + " The streams decide instead."
	default:
		speed = fmt.Sprintf(" (The wall-clock speedup was %.1fx; it depends on the endpoint's speed staying the same across both passes, the streams do not.)", cmp.Speedup)
	}
	seen := fmt.Sprintf("%d streamed responses of the concurrent pass", o.Intervals)
	switch {
	case o.Max <= 1:
		return Conclusion{Verdict: VerdictSerialized, Evidence: EvidenceObserved, Text: fmt.Sprintf(
			"The server generated one response at a time: of %s, no two generated at the same instant "+
				"(observed server concurrency max 1, mean %.2f), although up to %d were in flight at once. "+
				"This key or endpoint serves one request at a time; sending them concurrently only queues them.",
			seen, o.Mean, inFlight) + speed}
	case float64(o.Max) >= ConcurrentShare*float64(limit):
		return Conclusion{Verdict: VerdictConcurrent, Evidence: EvidenceObserved, Text: fmt.Sprintf(
			"The server generated up to %d responses at the same instant (observed server concurrency max %d, mean %.2f, p50 %d, "+
				"from %s) with %d in flight. This key handles at least %d simultaneous requests.",
			o.Max, o.Max, o.Mean, o.P50, seen, limit, o.Max) + speed}
	default:
		return Conclusion{Verdict: VerdictPartiallyConcurrent, Evidence: EvidenceObserved, Text: fmt.Sprintf(
			"The server generated at most %d responses at the same instant although %d were in flight "+
				"(observed server concurrency max %d, mean %.2f, p50 %d, from %s): it works on about %d requests at once; the rest queue.",
			o.Max, limit, o.Max, o.Mean, o.P50, seen, o.Max) + speed}
	}
}
