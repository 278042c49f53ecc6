package analysis

import (
	"fmt"
	"sort"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/stats"
)

// ObservedConcurrency is how many requests the server was generating at the
// same time, as the streams of one pass show it. A request is generating
// from the arrival of its first content chunk to the arrival of its last
// (its generation interval); the level at an instant is the number of
// generation intervals that contain it. A server that serves one request at
// a time never has two generation intervals overlapping; a server that
// batches requests has them overlap. Unlike a speedup, this needs no second
// pass, so a change of the endpoint's speed between passes cannot fake it.
// See docs/verdict.md.
type ObservedConcurrency struct {
	// Available is set when the intervals can serve as evidence (see
	// Reason): enough requests streamed two or more content chunks, and
	// generation filled enough of the pass for an absence of overlap to
	// mean something. When it is not set the figures below are still the
	// ones measured, but the verdict does not use them.
	Available bool `json:"available"`
	// Reason says why the evidence is not available; empty when it is.
	Reason string `json:"reason,omitempty"`
	// Max is the highest level held for at least ResolutionSeconds.
	Max int `json:"max"`
	// Mean is the time-weighted mean level over the generation span (from
	// the pass's first content chunk to its last).
	Mean float64 `json:"mean"`
	// P50 is the time-weighted median level over the same span: the
	// smallest level k such that the level is at most k for at least half
	// of the span.
	P50 int `json:"p50"`
	// Intervals is the number of generation intervals used: successful
	// streamed requests with at least two content chunks, spread over a
	// positive time.
	Intervals int `json:"intervals"`
	// Streamed is the number of successful streamed requests of the pass.
	Streamed int `json:"streamed"`
	// SpanSeconds is the generation span: the pass's first content chunk
	// to its last.
	SpanSeconds float64 `json:"span_seconds"`
	// Coverage is the share of the pass's total time (first send to last
	// response) during which at least one request was generating.
	Coverage float64 `json:"coverage"`
	// ResolutionSeconds is the shortest overlap counted by Max: the
	// median gap between content chunks of the pass, at most a tenth of the
	// median generation interval, and at least 1 ms. An
	// interval's ends are known only to a chunk's precision, so an overlap
	// shorter than that may be an artefact of timing.
	ResolutionSeconds float64 `json:"resolution_seconds"`
}

// Thresholds of the observed concurrency's availability.
const (
	// MinIntervalShare is the share of a pass's successful streamed
	// requests that must have a generation interval (two or more content
	// chunks over a positive time): a request without one could hide an
	// overlap.
	MinIntervalShare = 0.8
	// MinCoverage is the share of the pass's total time that generation
	// must fill. A server (or proxy) that buffers its stream and sends it at
	// once has generation intervals of almost no length, which never
	// overlap whatever the server's concurrency: their absence of overlap
	// is no evidence.
	MinCoverage = 0.25
	// MinResolution is the least resolution of Max.
	MinResolution = time.Millisecond
	// MaxResolutionShare caps the resolution of Max at this share of the
	// median generation interval.
	MaxResolutionShare = 0.1
)

// Interval is one request's generation interval.
type Interval struct {
	Index int `json:"index"`
	// Start is the arrival of the first content chunk, End that of the last.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// GenerationIntervals returns the generation intervals of the successful
// streamed records that have one (two or more content chunks spread over a
// positive time), ordered by start then index. The last chunk's arrival is
// the first's plus the chunk gaps, so it is exact to the nanosecond the
// record keeps.
func GenerationIntervals(records []record.Request) []Interval {
	var out []Interval
	for _, r := range records {
		if !r.OK || !r.Stream || r.TTFTSeconds == nil || len(r.ChunkGapsSeconds) == 0 || r.SentAt.IsZero() {
			continue
		}
		start := r.SentAt.Add(seconds(*r.TTFTSeconds))
		var gen float64
		for _, g := range r.ChunkGapsSeconds {
			gen += g
		}
		end := start.Add(seconds(gen))
		if !end.After(start) {
			continue
		}
		out = append(out, Interval{Index: r.Index, Start: start, End: end})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Index < out[j].Index
	})
	return out
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// segment is a stretch of time at one level.
type segment struct {
	level int
	d     int64 // nanoseconds
}

// levels returns the level function of the intervals as consecutive
// segments from the first start to the last end. An interval is half-open
// [Start, End): one that ends at the instant another starts does not
// overlap it.
func levels(iv []Interval) []segment {
	type event struct {
		at    int64
		delta int
	}
	ev := make([]event, 0, 2*len(iv))
	for _, i := range iv {
		ev = append(ev, event{i.Start.UnixNano(), +1}, event{i.End.UnixNano(), -1})
	}
	sort.Slice(ev, func(i, j int) bool {
		if ev[i].at != ev[j].at {
			return ev[i].at < ev[j].at
		}
		return ev[i].delta < ev[j].delta
	})
	var segs []segment
	level := 0
	for k, e := range ev {
		level += e.delta
		if k+1 < len(ev) && ev[k+1].at > e.at {
			segs = append(segs, segment{level, ev[k+1].at - e.at})
		}
	}
	return segs
}

// sustainedMax is the highest level k such that the level stays at k or
// above for at least minDur without a break: over the segments, the largest
// minimum level of a run of consecutive segments lasting minDur or more. It
// takes each segment in turn as the run's lowest and extends the run over
// its neighbours at that level or above (a monotonic stack, O(n)).
func sustainedMax(segs []segment, minDur int64) int {
	n := len(segs)
	if n == 0 {
		return 0
	}
	// prefix sums of the durations
	pre := make([]int64, n+1)
	for i, s := range segs {
		pre[i+1] = pre[i] + s.d
	}
	left := make([]int, n)  // first index of the run where segs[i] is lowest
	right := make([]int, n) // last index
	stack := []int{}
	for i := 0; i < n; i++ {
		for len(stack) > 0 && segs[stack[len(stack)-1]].level >= segs[i].level {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			left[i] = 0
		} else {
			left[i] = stack[len(stack)-1] + 1
		}
		stack = append(stack, i)
	}
	stack = stack[:0]
	for i := n - 1; i >= 0; i-- {
		for len(stack) > 0 && segs[stack[len(stack)-1]].level >= segs[i].level {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			right[i] = n - 1
		} else {
			right[i] = stack[len(stack)-1] - 1
		}
		stack = append(stack, i)
	}
	best := 0
	for i, s := range segs {
		if s.level > best && pre[right[i]+1]-pre[left[i]] >= minDur {
			best = s.level
		}
	}
	return best
}

// Observe computes a pass's observed server concurrency from its records.
// It returns nil when no request of the pass was streamed.
func Observe(records []record.Request) *ObservedConcurrency {
	if !anyStreamed(records) {
		return nil
	}
	iv := GenerationIntervals(records)
	o := &ObservedConcurrency{Streamed: streamedOK(records), Intervals: len(iv)}
	o.ResolutionSeconds = resolution(chunkGaps(records), iv)
	segs := levels(iv)
	var busy int64
	o.SpanSeconds, o.Mean, o.P50, busy = levelFigures(segs)
	if first, last, ok := sendSpan(records); ok && last > first {
		o.Coverage = min(float64(busy)/float64(last-first), 1)
	}
	o.Max = sustainedMax(segs, int64(o.ResolutionSeconds*1e9))
	o.Reason = unavailableReason(o)
	o.Available = o.Reason == ""
	return o
}

// streamedOK counts the successful streamed requests.
func streamedOK(records []record.Request) int {
	n := 0
	for _, r := range records {
		if r.OK && r.Stream {
			n++
		}
	}
	return n
}

// resolution is the shortest overlap Max counts: one chunk gap, but never
// more than a tenth of the typical interval (a stream of few, large chunks
// must not hide real overlaps), and at least MinResolution.
func resolution(gaps []float64, iv []Interval) float64 {
	var lengths []float64
	for _, i := range iv {
		lengths = append(lengths, i.End.Sub(i.Start).Seconds())
	}
	return max(min(stats.Percentile(gaps, 50), MaxResolutionShare*stats.Percentile(lengths, 50)), MinResolution.Seconds())
}

// levelFigures sums up the level function: its span in seconds, its
// time-weighted mean and median, and how long (in nanoseconds) at least one
// request was generating.
func levelFigures(segs []segment) (spanSeconds, mean float64, p50 int, busy int64) {
	var span, weighted int64
	for _, s := range segs {
		span += s.d
		weighted += int64(s.level) * s.d
		if s.level > 0 {
			busy += s.d
		}
	}
	if span > 0 {
		mean = float64(weighted) / float64(span)
		p50 = medianLevel(segs, span)
	}
	return float64(span) / 1e9, mean, p50, busy
}

// unavailableReason says why o cannot serve as evidence (see
// ObservedConcurrency.Available); "" when it can.
func unavailableReason(o *ObservedConcurrency) string {
	switch {
	case o.Streamed == 0:
		return "no streamed request succeeded"
	case o.Intervals < 2:
		return fmt.Sprintf("only %d of %d streamed responses had two or more content chunks spread over time: overlaps need at least two", o.Intervals, o.Streamed)
	case float64(o.Intervals) < MinIntervalShare*float64(o.Streamed):
		return fmt.Sprintf("only %d of %d streamed responses had two or more content chunks spread over time (single-chunk or empty answers, or a buffered stream): the others could hide an overlap",
			o.Intervals, o.Streamed)
	case o.Coverage < MinCoverage:
		return fmt.Sprintf("generation filled only %.0f%% of the pass (under %.0f%%): the chunks of each response arrived almost at once, as from a server or proxy that buffers its stream, so intervals that do not overlap prove nothing",
			100*o.Coverage, 100*MinCoverage)
	}
	return ""
}

// medianLevel is the smallest level k such that the level is at most k for
// at least half of span.
func medianLevel(segs []segment, span int64) int {
	byLevel := map[int]int64{}
	top := 0
	for _, s := range segs {
		byLevel[s.level] += s.d
		top = max(top, s.level)
	}
	var acc int64
	for k := 0; k <= top; k++ {
		acc += byLevel[k]
		if 2*acc >= span {
			return k
		}
	}
	return top
}
