package chat_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

// A batch with a send instant keeps Concurrency requests in flight, sends
// none before the instant, and says how late each left; OnSend sees each
// request once, before its record.
func TestSendBatchAtItsInstant(t *testing.T) {
	const n, conc = 6, 3
	sim, base := startSim(t, simulator.Config{APIKey: testKey, Latency: 100 * time.Millisecond})
	b := batch(n)
	b.Pass, b.Concurrency = record.PassConcurrent, conc
	b.FireAt = time.Now().Add(200 * time.Millisecond)
	var (
		mu   sync.Mutex
		sent = map[int]int{}
		bad  []int // records whose request OnSend had not seen
	)
	b.OnSend = func(i int) {
		mu.Lock()
		sent[i]++
		mu.Unlock()
	}
	var recs []record.Request
	b.OnAnswer = func(rec record.Request) error {
		mu.Lock()
		defer mu.Unlock()
		if sent[rec.Index] != 1 {
			bad = append(bad, rec.Index)
		}
		recs = append(recs, rec)
		return nil
	}
	if err := newSender(testKey, base).SendBatch(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if len(recs) != n || len(sent) != n || len(bad) > 0 {
		t.Fatalf("%d records, %d requests seen by OnSend, records before their OnSend: %v; want %d, %d, none", len(recs), len(sent), bad, n, n)
	}
	if got := sim.Stats().MaxInFlight; got != conc {
		t.Errorf("simulator MaxInFlight = %d, want %d", got, conc)
	}
	for _, r := range recs {
		if !r.OK || r.SentAt.Before(b.FireAt) {
			t.Errorf("request %d: ok=%v sent at %v, before the instant %v", r.Index, r.OK, r.SentAt, b.FireAt)
		}
		if want := r.SentAt.Sub(b.FireAt).Seconds(); math.Abs(r.DispatchDelaySeconds-want) > 1e-6 {
			t.Errorf("request %d: dispatch_delay_seconds %v, want %v", r.Index, r.DispatchDelaySeconds, want)
		}
	}
}

// A batch told that a fatal answer already came (a resumed one) sends
// nothing when it stops on fatal.
func TestSendBatchAlreadyFatal(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey})
	b := batch(3)
	b.StopOnFatal, b.Fatal = true, true
	if out := send(t, newSender(testKey, base), b); len(out.Records) != 0 {
		t.Errorf("got %d records, want none", len(out.Records))
	}
	if got := sim.Stats().Requests; got != 0 {
		t.Errorf("simulator saw %d requests, want none", got)
	}
}

// SendBatch returns the errors of OnAnswer, and the context's error when
// the context ends first; a request cut short by it gets no record.
func TestSendBatchErrors(t *testing.T) {
	_, base := startSim(t, simulator.Config{APIKey: testKey})
	s := newSender(testKey, base)
	b := batch(2)
	errFull := errors.New("no room")
	b.OnAnswer = func(record.Request) error { return errFull }
	if err := s.SendBatch(t.Context(), b); !errors.Is(err, errFull) {
		t.Errorf("SendBatch = %v, want the error of OnAnswer", err)
	}

	_, stalled := startSim(t, simulator.Config{APIKey: testKey, Faults: simulator.Faults{Stall: 1}})
	ctx, cancel := context.WithCancel(t.Context())
	b = batch(1)
	b.OnSend = func(int) { cancel() }
	answered := 0
	b.OnAnswer = func(record.Request) error { answered++; return nil }
	if err := newSender(testKey, stalled).SendBatch(ctx, b); !errors.Is(err, context.Canceled) || answered != 0 {
		t.Errorf("SendBatch = %v with %d records, want context.Canceled and none", err, answered)
	}
}

// Send alone times one request, as a batch does.
func TestSendOne(t *testing.T) {
	_, base := startSim(t, simulator.Config{APIKey: testKey})
	rec := newSender(testKey, base).Send(t.Context(), chat.Params{Pass: record.PassSequential, Model: testModel, MaxTokens: 3}, chat.Prompt{Index: 4, Text: "hello"})
	if !rec.OK || rec.Index != 4 || rec.Prompt != "hello" || rec.CompletionTokens != 3 || rec.LatencySeconds <= 0 {
		t.Errorf("got ok=%v index=%d prompt=%q tokens=%d latency=%v; want a timed success of 3 tokens for request 4", rec.OK, rec.Index, rec.Prompt, rec.CompletionTokens, rec.LatencySeconds)
	}
}
