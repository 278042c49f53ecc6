package analysis_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

const (
	wA = "11@host-a@ endpoints=default"
	wB = "22@host-b@ endpoints=default"
	wC = "33@host-c@ endpoints=default"
)

// sentBy is a sent record of worker w whose batch bounded the clock offset
// between low (nil: unknown) and high.
func sentBy(i int, w string, low *float64, high float64) record.Request {
	r := record.Request{Index: i, Worker: w, OK: true, HTTPStatus: 200}
	r.SetTimes(time.Unix(100, 0), time.Unix(102, 0))
	r.SetClockOffset(low, &high)
	return r
}

func f(v float64) *float64 { return &v }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestWorkersMap: each pass counts its sent requests by the worker that
// sent them; records that name no worker, or were never sent, count
// nowhere, and the counts add up to the requests the workers sent.
func TestWorkersMap(t *testing.T) {
	recs := []record.Request{
		sentBy(0, wA, nil, 0), sentBy(1, wB, nil, 0), sentBy(2, wA, nil, 0), sentBy(3, wC, nil, 0), sentBy(4, wA, nil, 0),
		{Index: 5, Worker: "", Error: "not sent"},   // the workflow's own record
		{Index: 6, Worker: wB, Error: "never sent"}, // named, not sent
	}
	s := analysis.Summarize(recs)
	want := map[string]int{wA: 3, wB: 1, wC: 1}
	if len(s.Workers) != len(want) {
		t.Fatalf("workers = %v, want %v", s.Workers, want)
	}
	for w, n := range want {
		if s.Workers[w] != n {
			t.Errorf("workers[%s] = %d, want %d", w, s.Workers[w], n)
		}
	}
	if s := analysis.Summarize([]record.Request{{Index: 0}}); s.Workers != nil || s.ClockOffsets != nil || s.ClockOffsetMaxSeconds != nil {
		t.Errorf("records without a worker: workers %v, clock offsets %v, max %v; want all absent", s.Workers, s.ClockOffsets, s.ClockOffsetMaxSeconds)
	}
}

// TestClockOffsets: a worker's offset lies between the largest of its
// batches' low bounds and the least of their high bounds; the estimate is
// the middle, and clock_offset_max_seconds is the largest offset the
// bounds prove (0 for an interval that holds 0).
func TestClockOffsets(t *testing.T) {
	recs := []record.Request{
		// A: intervals [-0.002, 0.030] and [0.001, 0.004]: [0.001, 0.004].
		sentBy(0, wA, f(-0.002), 0.030), sentBy(1, wA, f(0.001), 0.004),
		// B: 80 ms ahead: [0.078, 0.085] and [0.070, 0.082]: [0.078, 0.082].
		sentBy(2, wB, f(0.078), 0.085), sentBy(3, wB, f(0.070), 0.082),
		// C: holds 0, wide: [-0.040, 0.300].
		sentBy(4, wC, f(-0.040), 0.300),
	}
	s := analysis.Summarize(recs)
	a, b, c := s.ClockOffsets[wA], s.ClockOffsets[wB], s.ClockOffsets[wC]
	if a.LowSeconds == nil || !near(*a.LowSeconds, 0.001) || !near(a.HighSeconds, 0.004) || !near(a.Seconds, 0.0025) || !near(*a.UncertaintySeconds, 0.0015) {
		t.Errorf("worker A: %+v, want [0.001, 0.004], 0.0025 ± 0.0015", a)
	}
	if !near(b.Seconds, 0.080) || !near(b.AtLeast(), 0.078) {
		t.Errorf("worker B: %+v (at least %v), want 0.080, at least 0.078", b, b.AtLeast())
	}
	if c.AtLeast() != 0 {
		t.Errorf("worker C: at least %v, want 0 (its interval holds 0)", c.AtLeast())
	}
	if s.ClockOffsetMaxSeconds == nil || !near(*s.ClockOffsetMaxSeconds, 0.078) {
		t.Errorf("clock_offset_max_seconds = %v, want 0.078 (worker B's proven offset)", s.ClockOffsetMaxSeconds)
	}
	// Behind the server: the high bound proves it.
	behind := analysis.Summarize([]record.Request{sentBy(0, wA, nil, -0.050)})
	if behind.ClockOffsetMaxSeconds == nil || !near(*behind.ClockOffsetMaxSeconds, 0.050) || behind.ClockOffsets[wA].UncertaintySeconds != nil {
		t.Errorf("a worker 50 ms behind, high bound only: %+v, max %v; want 0.050, no uncertainty", behind.ClockOffsets, behind.ClockOffsetMaxSeconds)
	}
	// An upper bound alone above 0 proves nothing: the delivery time
	// may be all of it.
	ahead := analysis.Summarize([]record.Request{sentBy(0, wA, nil, 0.200)})
	if ahead.ClockOffsetMaxSeconds == nil || *ahead.ClockOffsetMaxSeconds != 0 {
		t.Errorf("high bound 0.2 alone: max %v, want 0", ahead.ClockOffsetMaxSeconds)
	}
}

// TestClockWarning: the conclusion speaks of the clocks only when the
// bounds prove an offset over 10 ms, and says whether the workers disagree
// (the spread across them is then uncertain) or are all off alike.
func TestClockWarning(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []record.Request
		want string
	}{
		{"in step", []record.Request{sentBy(0, wA, f(-0.003), 0.004), sentBy(1, wB, f(-0.001), 0.008)}, ""},
		{"unproven", []record.Request{sentBy(0, wA, f(-0.100), 0.300), sentBy(1, wB, nil, 0.090)}, ""},
		{"one worker off", []record.Request{sentBy(0, wA, f(0.078), 0.082)}, "The worker's clock was +80 ms (± 2 ms) off the Temporal server's: the requests left together by that clock, so the start spread holds"},
		{"all off alike", []record.Request{sentBy(0, wA, f(0.078), 0.082), sentBy(1, wB, f(0.076), 0.084)}, "The 2 workers' clocks were +80 ms"},
		{"disagree", []record.Request{sentBy(0, wA, f(-0.002), 0.003), sentBy(1, wB, f(0.078), 0.082)}, "The workers' clocks disagree: worker 22@host-b@'s was +80 ms (± 2 ms) off the Temporal server's, at least 75 ms apart from another's"},
	} {
		s := analysis.Summarize(tc.recs)
		got := analysis.ClockWarning(s)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) || strings.Count(got, ". ") > 0 {
			t.Errorf("%s: %q, want one sentence with %q", tc.name, got, tc.want)
		}
	}
}
