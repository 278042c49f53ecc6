package chat_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

// observer records what a Sender tells its Observer.
type observer struct {
	mu       sync.Mutex
	started  []time.Time
	finished []record.Request
	max, now int
}

func (o *observer) Started() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started = append(o.started, time.Now())
	o.now++
	o.max = max(o.max, o.now)
}

func (o *observer) Finished(rec record.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.finished = append(o.finished, rec)
	o.now--
}

// TestObserverSeesEveryRequestOnceFromItsRelease: with a send instant, a
// request is in flight for the Observer from its release, never before the
// instant; every Started is followed by one Finished with the request's
// record; and at most Concurrency are in flight at once.
func TestObserverSeesEveryRequestOnceFromItsRelease(t *testing.T) {
	_, base := startSim(t, simulator.Config{Latency: 20 * time.Millisecond, APIKey: testKey})
	s := newSender(testKey, base)
	obs := &observer{}
	s.Observer = obs
	b := batch(6)
	b.Pass, b.Concurrency = record.PassConcurrent, 3
	b.FireAt = time.Now().Add(200 * time.Millisecond)
	out := send(t, s, b)
	if len(obs.started) != 6 || len(obs.finished) != 6 || obs.now != 0 {
		t.Fatalf("%d started, %d finished, %d left in flight; want 6, 6, 0", len(obs.started), len(obs.finished), obs.now)
	}
	if obs.max != 3 {
		t.Errorf("at most %d in flight, want 3", obs.max)
	}
	for i, at := range obs.started {
		if at.Before(b.FireAt) {
			t.Errorf("request %d started %s before the send instant", i, b.FireAt.Sub(at))
		}
	}
	seen := map[int]bool{}
	for _, rec := range obs.finished {
		if !rec.OK || rec.Pass != record.PassConcurrent || seen[rec.Index] {
			t.Errorf("finished record %+v: want each request once, ok", rec)
		}
		seen[rec.Index] = true
	}
	if len(out.Records) != 6 {
		t.Errorf("%d records handed over, want 6", len(out.Records))
	}
}

// TestObserverHearsNothingOfARequestNeverReleased: a batch whose context
// ends before its send instant sends nothing, and its Observer hears of
// nothing.
func TestObserverHearsNothingOfARequestNeverReleased(t *testing.T) {
	_, base := startSim(t, simulator.Config{Latency: 20 * time.Millisecond, APIKey: testKey})
	s := newSender(testKey, base)
	obs := &observer{}
	s.Observer = obs
	b := batch(4)
	b.Concurrency = 4
	b.FireAt = time.Now().Add(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	b.OnSend = func(int) { t.Error("a request was released") }
	done := make(chan error, 1)
	go func() { done <- s.SendBatch(ctx, b) }()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("SendBatch returned no error after its context ended")
	}
	if len(obs.started) != 0 || len(obs.finished) != 0 {
		t.Errorf("%d started, %d finished; want none", len(obs.started), len(obs.finished))
	}
}

var _ chat.Observer = (*observer)(nil)
