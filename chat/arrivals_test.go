package chat_test

import (
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

// A paced batch (prompts with offsets) sends each request at its own
// instant, FireAt + Offset, never before it, whatever the order of the
// prompts; each record's dispatch delay counts from its instant.
func TestSendBatchPaced(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey, Latency: 20 * time.Millisecond})
	b := batch(5)
	b.Pass, b.Concurrency = record.PassConcurrent, 5
	offsets := []time.Duration{0, 150 * time.Millisecond, 300 * time.Millisecond, 450 * time.Millisecond, 600 * time.Millisecond}
	// Out of order on purpose: the batch sends by instant.
	order := []int{3, 0, 4, 1, 2}
	b.Prompts = b.Prompts[:0]
	for _, i := range order {
		p := specs(5)[i]
		p.Offset = offsets[i]
		b.Prompts = append(b.Prompts, p)
	}
	b.FireAt = time.Now().Add(100 * time.Millisecond)
	out := send(t, newSender(testKey, base), b)
	if len(out.Records) != 5 {
		t.Fatalf("got %d records, want 5", len(out.Records))
	}
	for _, r := range out.Records {
		at := b.FireAt.Add(offsets[r.Index])
		if !r.OK || r.SentAt.Before(at) {
			t.Errorf("request %d: ok=%v, sent %s after its instant", r.Index, r.OK, r.SentAt.Sub(at))
		}
		// Generous for a busy machine under -race; the gaps are 150 ms.
		if r.DispatchDelaySeconds > 0.1 {
			t.Errorf("request %d left %.3fs after its instant", r.Index, r.DispatchDelaySeconds)
		}
		if want := r.SentAt.Sub(at).Seconds(); r.DispatchDelaySeconds < want-1e-6 || r.DispatchDelaySeconds > want+1e-6 {
			t.Errorf("request %d: dispatch_delay_seconds %v, want %v (from its own instant)", r.Index, r.DispatchDelaySeconds, want)
		}
	}
	a := sim.Arrivals(false)
	if a.Count != 5 || a.SpreadSeconds < 0.55 || a.SpreadSeconds > 0.75 {
		t.Errorf("the simulator saw %d arrivals over %.3fs, want 5 over 0.6s", a.Count, a.SpreadSeconds)
	}
}

// With -rate, the concurrency cap still holds: an arrival whose instant
// comes while every sender is busy leaves as soon as one is free, late.
func TestSendBatchPacedCapped(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey, Latency: 300 * time.Millisecond})
	b := batch(3)
	b.Pass, b.Concurrency = record.PassConcurrent, 1
	for i := range b.Prompts {
		b.Prompts[i].Offset = time.Duration(i) * 10 * time.Millisecond
	}
	b.FireAt = time.Now().Add(50 * time.Millisecond)
	out := send(t, newSender(testKey, base), b)
	if got := sim.Stats().MaxInFlight; got != 1 {
		t.Errorf("simulator MaxInFlight = %d, want 1", got)
	}
	late := 0
	for _, r := range out.Records {
		if r.DispatchDelaySeconds > 0.25 {
			late++
		}
	}
	if len(out.Records) != 3 || late != 2 {
		t.Errorf("%d records, %d of them late by a response; want 3 and 2", len(out.Records), late)
	}
}
