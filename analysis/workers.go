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
// a pass (see ClockOffsets): how far its clock was ahead of the server's
// (negative: behind), in seconds.
type ClockOffset struct {
	// LowSeconds and HighSeconds bound the offset: it lies between them
	// (LowSeconds is absent when no batch of the worker completed).
	LowSeconds  *float64 `json:"low_seconds,omitempty"`
	HighSeconds float64  `json:"high_seconds"`
	// Seconds is the estimate: the middle of the bounds (the high bound
	// alone when there is no low one), give or take UncertaintySeconds,
	// half the distance between them.
	Seconds            float64  `json:"seconds"`
	UncertaintySeconds *float64 `json:"uncertainty_seconds,omitempty"`
}

// AtLeast is the smallest absolute offset that the bounds allow: 0 when
// they include 0, else the distance from 0 to the nearer bound. It is what
// the measurements prove of the offset, whatever the delays between the
// server and the worker were.
func (o ClockOffset) AtLeast() float64 {
	switch {
	case o.HighSeconds < 0:
		return -o.HighSeconds
	case o.LowSeconds != nil && *o.LowSeconds > 0:
		return *o.LowSeconds
	}
	return 0
}

// ClockOffsets is each worker's clock offset from the Temporal server's
// over the pass, from the bounds its batches recorded
// (record.Request.ClockOffsetLowSeconds and ClockOffsetHighSeconds): the
// offset is at most the least of the upper bounds and at least the largest
// of the lower ones. Nil when no record has a bound.
func ClockOffsets(records []record.Request) map[string]ClockOffset {
	by := map[string]*ClockOffset{}
	for _, r := range records {
		if r.Worker == "" || r.ClockOffsetHighSeconds == nil {
			continue
		}
		o := by[r.Worker]
		if o == nil {
			o = &ClockOffset{HighSeconds: *r.ClockOffsetHighSeconds}
			by[r.Worker] = o
		}
		o.HighSeconds = min(o.HighSeconds, *r.ClockOffsetHighSeconds)
		if l := r.ClockOffsetLowSeconds; l != nil && (o.LowSeconds == nil || *l > *o.LowSeconds) {
			v := *l
			o.LowSeconds = &v
		}
	}
	if len(by) == 0 {
		return nil
	}
	out := make(map[string]ClockOffset, len(by))
	for w, o := range by {
		o.Seconds = o.HighSeconds
		if o.LowSeconds != nil {
			o.Seconds = (*o.LowSeconds + o.HighSeconds) / 2
			u := math.Abs(o.HighSeconds-*o.LowSeconds) / 2
			o.UncertaintySeconds = &u
		}
		out[w] = *o
	}
	return out
}

// ClockOffsetMax is the largest clock offset that the bounds prove among
// offsets (ClockOffsets): the largest ClockOffset.AtLeast. Nil when there
// is no offset.
func ClockOffsetMax(offsets map[string]ClockOffset) *float64 {
	if len(offsets) == 0 {
		return nil
	}
	largest := 0.0
	for _, o := range offsets {
		largest = max(largest, o.AtLeast())
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
// distort a pass's timing, or returns "" unless the bounds prove that a
// worker's clock was more than MaxClockOffsetSeconds off the Temporal
// server's (ClockOffsetMaxSeconds). Each worker sends at fire_at by its own
// clock and stamps its records by it. Workers whose clocks disagree by more
// than 10 ms send that much apart, in real time, while their records say
// they left together (or the other way round): the start spread across
// workers is that uncertain. Workers whose clocks agree with one another
// but not with the server's send together, and only fire_at and the times
// compared with the server's are off.
func ClockWarning(s PassSummary) string {
	if s.ClockOffsetMaxSeconds == nil || *s.ClockOffsetMaxSeconds <= MaxClockOffsetSeconds {
		return ""
	}
	names := make([]string, 0, len(s.ClockOffsets))
	for w := range s.ClockOffsets {
		names = append(names, w)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := s.ClockOffsets[names[i]].AtLeast(), s.ClockOffsets[names[j]].AtLeast()
		if a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	worst := s.ClockOffsets[names[0]]
	est := fmt.Sprintf("%+.0f ms", 1000*worst.Seconds)
	if worst.UncertaintySeconds != nil {
		est += fmt.Sprintf(" (± %.0f ms)", 1000**worst.UncertaintySeconds)
	}
	if apart := disagreement(s.ClockOffsets); len(names) > 1 && apart > MaxClockOffsetSeconds {
		return fmt.Sprintf("The workers' clocks disagree: worker %s's was %s off the Temporal server's, at least %.0f ms apart from another's; each worker sends at fire_at and stamps its records by its own clock, so the requests of different workers may have left that much further apart, or closer, than their sent_at times and the start spread say.",
			WorkerName(names[0]), est, 1000*apart)
	}
	who := "The worker's clock was"
	if len(names) > 1 {
		who = fmt.Sprintf("The %d workers' clocks were", len(names))
	}
	return fmt.Sprintf("%s %s off the Temporal server's: the requests left together by that clock, so the start spread holds, but fire_at and the records' times are off the server's clock by that much.",
		who, est)
}

// disagreement is how far apart the bounds prove two workers' clocks to be
// at least: the largest gap between one worker's low bound and another's
// high bound.
func disagreement(offsets map[string]ClockOffset) float64 {
	apart := 0.0
	for a, oa := range offsets {
		if oa.LowSeconds == nil {
			continue
		}
		for b, ob := range offsets {
			if a != b {
				apart = max(apart, *oa.LowSeconds-ob.HighSeconds)
			}
		}
	}
	return apart
}
