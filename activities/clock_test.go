package activities_test

import (
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

// TestBatchNamesItsWorkerAndBoundsItsClock: every record of a batch names
// the worker that sent it and carries the batch's upper bound of the
// worker's clock offset (its clock as the batch started minus the started
// time that the server, here the test environment, stamped), and the
// output says who ran it and when it returned by that worker's clock.
func TestBatchNamesItsWorkerAndBoundsItsClock(t *testing.T) {
	_, base := startSim(t, simulator.Config{Latency: 20 * time.Millisecond, APIKey: testKey})
	acts := newActs(testKey, base)
	acts.Identity = "42@test-host@ endpoints=default"
	in := batch(3)
	in.Pass, in.Concurrency = record.PassConcurrent, 3
	before := time.Now()
	out := send(t, acts, in)
	if out.Worker != acts.Identity || out.ActivityAttempt != 1 || out.FinishedAt.Before(before) || time.Since(out.FinishedAt) < 0 {
		t.Errorf("output: worker %q, attempt %d, finished_at %v; want %q, 1, a time during the test", out.Worker, out.ActivityAttempt, out.FinishedAt, acts.Identity)
	}
	if len(out.Records) != 3 {
		t.Fatalf("%d records, want 3", len(out.Records))
	}
	for _, r := range out.Records {
		if r.Worker != acts.Identity {
			t.Errorf("record %d: worker %q, want %q", r.Index, r.Worker, acts.Identity)
		}
		// One clock for both ends: the offset is 0, the bound the
		// delivery time, well under a second.
		if r.ClockOffsetHighSeconds == nil || *r.ClockOffsetHighSeconds < 0 || *r.ClockOffsetHighSeconds > 1 ||
			r.ClockOffsetSeconds == nil || *r.ClockOffsetSeconds != *r.ClockOffsetHighSeconds || r.ClockOffsetLowSeconds != nil {
			t.Errorf("record %d: clock offset %v, high %v, low %v; want the high bound in [0, 1) s, the estimate equal to it, no low bound yet",
				r.Index, r.ClockOffsetSeconds, r.ClockOffsetHighSeconds, r.ClockOffsetLowSeconds)
		}
	}
}

// TestWorkerClockAhead: a worker whose clock runs 300 ms ahead of the
// server's (a test clock) fires the common instant by its own clock, 300 ms
// early in real time as the simulator sees it, stamps its records by its
// clock (they say they left at the instant), and its batch's bound shows
// the offset.
func TestWorkerClockAhead(t *testing.T) {
	const skew = 300 * time.Millisecond
	sim, base := startSim(t, simulator.Config{Latency: 20 * time.Millisecond, APIKey: testKey})
	acts := newActs(testKey, base)
	acts.Identity = "ahead"
	acts.Clock = func() time.Time { return time.Now().Add(skew) }
	in := batch(4)
	in.Pass, in.Concurrency = record.PassConcurrent, 4
	in.FireAt = time.Now().Add(time.Second)
	out := send(t, acts, in)

	arrived := sim.Arrivals(false)
	if arrived.Count != 4 {
		t.Fatalf("the simulator saw %d requests, want 4", arrived.Count)
	}
	// Not before the worker's own instant, and well before the server's
	// (what a busy machine adds to a send is allowed for).
	if early := in.FireAt.Sub(arrived.First); early < skew/2 || early > skew+50*time.Millisecond {
		t.Errorf("the first request arrived %v before the instant by the real clock, want about %v (the worker fires by its own clock)", early, skew)
	}
	for _, r := range out.Records {
		if d := r.SentAt.Sub(in.FireAt); d < 0 || d > 100*time.Millisecond {
			t.Errorf("record %d: sent_at %v after the instant by the worker's clock, want 0 to 100 ms", r.Index, d)
		}
		if h := r.ClockOffsetHighSeconds; h == nil || *h < skew.Seconds() || *h > skew.Seconds()+0.5 {
			t.Errorf("record %d: clock offset high bound %v, want %v s plus the delivery time", r.Index, h, skew.Seconds())
		}
	}
	if d := time.Until(out.FinishedAt); d < skew-100*time.Millisecond {
		t.Errorf("finished_at is %v ahead of the real clock, want about %v (the worker's clock)", d, skew)
	}
}
