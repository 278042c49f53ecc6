package analysis

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/llmconc/llmconc/record"
)

// MaxClockOffsetSeconds is the clock offset above which a pass's conclusion
// says how the clocks may distort its start spread (ClockWarning): 10 ms.
const MaxClockOffsetSeconds = 0.010

// Workers counts the pass's sent requests by the worker that sent them (its
// Temporal identity, record.Request.Worker). Records that name no worker
// (never sent, or made before workers were recorded) count nowhere. Nil
// when none names one.
func Workers(records []record.Request) map[string]int {
	var out map[string]int
	for _, r := range records {
		if r.Worker == "" || !r.WasSent() {
			continue
		}
		if out == nil {
			out = map[string]int{}
		}
		out[r.Worker]++
	}
	return out
}

// ClockOffset is one worker's clock offset from the Temporal server's over
// a pass (see ClockOffsets).
type ClockOffset struct {
	// Seconds is the estimate: how far the worker's clock was ahead of the
	// server's (negative: behind).
	Seconds float64 `json:"seconds"`
	// UncertaintySeconds is how far the offset may be from Seconds either
	// way: half the width of the interval that the bounds leave. Absent
	// when only upper bounds were known (Seconds is then the least of
	// them, too high by the time a task takes to reach the worker).
	UncertaintySeconds *float64 `json:"uncertainty_seconds,omitempty"`
}

// ClockOffsets is each worker's clock offset from the Temporal server's
// over the pass, from the bounds its batches recorded
// (record.Request.ClockOffsetLowSeconds and ClockOffsetHighSeconds): the
// offset is at most the least of the upper bounds and at least the largest
// of the lower ones, and the estimate is the middle of the two, give or
// take half the distance between them. Nil when no record has a bound.
func ClockOffsets(records []record.Request) map[string]ClockOffset {
	type bounds struct{ low, high *float64 }
	by := map[string]*bounds{}
	for _, r := range records {
		if r.Worker == "" || r.ClockOffsetHighSeconds == nil {
			continue
		}
		b := by[r.Worker]
		if b == nil {
			b = &bounds{}
			by[r.Worker] = b
		}
		if b.high == nil || *r.ClockOffsetHighSeconds < *b.high {
			b.high = r.ClockOffsetHighSeconds
		}
		if r.ClockOffsetLowSeconds != nil && (b.low == nil || *r.ClockOffsetLowSeconds > *b.low) {
			b.low = r.ClockOffsetLowSeconds
		}
	}
	if len(by) == 0 {
		return nil
	}
	out := make(map[string]ClockOffset, len(by))
	for w, b := range by {
		o := ClockOffset{Seconds: *b.high}
		if b.low != nil {
			o.Seconds = (*b.low + *b.high) / 2
			u := math.Abs(*b.high-*b.low) / 2
			o.UncertaintySeconds = &u
		}
		out[w] = o
	}
	return out
}

// ClockOffsetMax is the largest absolute offset of offsets (ClockOffsets);
// nil when there is none.
func ClockOffsetMax(offsets map[string]ClockOffset) *float64 {
	if len(offsets) == 0 {
		return nil
	}
	largest := 0.0
	for _, v := range offsets {
		largest = max(largest, math.Abs(v.Seconds))
	}
	return &largest
}

// WorkerName is how a sentence names a worker: its identity up to the list
// of its endpoints ("pid@host@").
func WorkerName(identity string) string {
	name, _, _ := strings.Cut(identity, " ")
	return name
}

// ClockWarning says, in one plain sentence, how the workers' clocks may
// distort a pass's timing, or returns "" when every offset is within
// MaxClockOffsetSeconds. Each worker sends at fire_at by its own clock and
// stamps its records by it. Workers whose clocks disagree by more than 10
// ms send that much apart, in real time, while their records say they left
// together (or the other way round): the start spread across workers is
// that uncertain. Workers whose clocks agree with one another but not with
// the server's send together, and only fire_at and the times compared with
// the server's are off.
func ClockWarning(s PassSummary) string {
	if s.ClockOffsetMaxSeconds == nil || *s.ClockOffsetMaxSeconds <= MaxClockOffsetSeconds {
		return ""
	}
	names := make([]string, 0, len(s.ClockOffsets))
	for w := range s.ClockOffsets {
		names = append(names, w)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := math.Abs(s.ClockOffsets[names[i]].Seconds), math.Abs(s.ClockOffsets[names[j]].Seconds)
		if a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	worst := names[0]
	lo, hi := s.ClockOffsets[worst].Seconds, s.ClockOffsets[worst].Seconds
	for _, w := range names {
		lo, hi = min(lo, s.ClockOffsets[w].Seconds), max(hi, s.ClockOffsets[w].Seconds)
	}
	ms := func(v float64) string { return fmt.Sprintf("%+.0f ms", 1000*v) }
	if len(names) > 1 && hi-lo > MaxClockOffsetSeconds {
		return fmt.Sprintf("The workers' clocks disagree: worker %s's was %s off the Temporal server's (estimated offsets from %s to %s); each worker sends at fire_at and stamps its records by its own clock, so the requests of different workers may have left up to %.0f ms further apart, or closer, than their sent_at times and the start spread say.",
			WorkerName(worst), ms(s.ClockOffsets[worst].Seconds), ms(lo), ms(hi), 1000*(hi-lo))
	}
	who := "The worker's clock was"
	if len(names) > 1 {
		who = fmt.Sprintf("The %d workers' clocks were", len(names))
	}
	return fmt.Sprintf("%s %s off the Temporal server's (estimated, at most; see docs/concurrent-pass.md#clocks): the requests left together by that clock, so the start spread holds, but fire_at and the records' times are off the server's clock by that much.",
		who, ms(s.ClockOffsets[worst].Seconds))
}
