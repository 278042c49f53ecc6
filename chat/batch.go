package chat

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
)

// Batch is requests of one pass sent together: at most Concurrency in
// flight at once and, when Params.FireAt is set, the first of them all sent
// at that instant.
type Batch struct {
	Params
	Prompts []Prompt
	// Concurrency is how many requests are in flight at once (at least 1).
	Concurrency int
	// StopOnFatal stops the batch once a record says that the rest is
	// pointless (401, 403, 404, 400: record.Request.Fatal); Fatal says
	// that one already did (an earlier attempt's record).
	StopOnFatal bool
	Fatal       bool
	// OnSend, when set, is called with a request's index as it is sent (a
	// held request: at its release, in its sender's goroutine).
	OnSend func(index int)
	// OnAnswer receives each record as its request is answered (or fails),
	// in the order of the answers, from the senders' goroutines. A request
	// cut short by the end of ctx gets none. Its errors are returned by
	// SendBatch.
	OnAnswer func(record.Request) error
	// OnCutShort, when set, receives the record of each request that was
	// sent and then cut short by the end of ctx (it says when it was sent,
	// and that it was cancelled), from its sender's goroutine: the caller
	// decides whether it counts (a batch cancelled for good) or not (one
	// whose requests a later attempt sends again).
	OnCutShort func(record.Request)
}

// closedChan is the fire channel of a batch without a send instant.
var closedChan = func() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// SendBatch sends b's requests and hands each record to b.OnAnswer. It
// returns ctx's error if ctx ended, else the errors of OnAnswer.
//
// With a send instant, the senders start before it, and each builds its
// first request (body serialized, headers set) and hands it to the
// transport, where it waits at a gate shared by every batch of s
// (measure.WithHold): at FireAt nothing is left to do but write, on a
// connection that s.Pool opened ahead. The start spread is the scheduler's,
// not our set-up's.
func (s *Sender) SendBatch(ctx context.Context, b Batch) error {
	run := &batchRun{s: s, b: b, fire: closedChan, fatal: b.Fatal, queue: make(chan Prompt, len(b.Prompts))}
	held := !b.FireAt.IsZero()
	if held && paced(b.Prompts) {
		// Arrivals at their own instants, not one burst (see arrivals.go).
		run.paced, held = true, false
		b.Prompts = byOffset(b.Prompts)
	}
	if held {
		var done func()
		run.fire, done = s.gates.Wait(b.FireAt)
		defer done()
	}
	for _, p := range b.Prompts {
		run.queue <- p
	}
	close(run.queue)
	senders := min(max(b.Concurrency, 1), len(b.Prompts))
	var slots *measure.SenderSlots
	if held {
		slots = measure.NewSenderSlots(senders)
	}
	var wg sync.WaitGroup
	for i := range senders {
		wg.Add(1)
		// Each sender sends on its own slot of the connections opened
		// ahead, once they are (the transport dials for a sender
		// without one).
		go func() {
			defer wg.Done()
			run.sender(slots.With(ctx, i), held)
		}()
	}
	burst := run.warm(ctx, held, senders)
	// Its connections are closed once every sender has returned.
	defer burst.Close()
	slots.Set(burst)
	wg.Wait()
	// The records are handed over once every batch of the instant is
	// done, not while their last responses arrive.
	burst.Finish(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(run.errs...)
}

// batchRun is one SendBatch in progress.
type batchRun struct {
	s     *Sender
	b     Batch
	fire  <-chan struct{} // closed at b.FireAt (at once without it)
	queue chan Prompt
	// paced: each request is sent at b.FireAt + its Offset.
	paced bool

	mu    sync.Mutex
	fatal bool
	errs  []error
}

// warm opens, in s.Pool, the connections of the batch's senders until its
// send instant; nil when there is no instant, no pool, or no time left.
func (r *batchRun) warm(ctx context.Context, held bool, senders int) *measure.Burst {
	at := r.b.FireAt
	if !held || r.s.Pool == nil || time.Until(at) <= 0 {
		return nil
	}
	warmCtx, cancel := context.WithDeadline(ctx, at)
	defer cancel()
	return r.s.Pool.Join(warmCtx, r.s.BaseURL, at, senders)
}

// sender sends requests of the queue one after another until it is empty,
// ctx ends, or (StopOnFatal) a record is fatal. With a send instant (held),
// its first request waits for it in the transport.
func (r *batchRun) sender(ctx context.Context, held bool) {
	first := held
	// inFlight: the current request was released (sending was called), so
	// s.Observer hears of its end. One per sender, not per request.
	inFlight := false
	for p := range r.queue {
		if r.stopped() || ctx.Err() != nil {
			return
		}
		rctx, params := ctx, r.b.Params
		if r.paced {
			var ok bool
			if params, ok = r.arrive(ctx, p); !ok {
				return
			}
		}
		if first {
			// In flight from the release on, not before.
			rctx = measure.WithHold(ctx, r.b.FireAt, r.fire, func() { inFlight = true; r.sending(p.Index) })
			first = false
		} else {
			inFlight = true
			r.sending(p.Index)
		}
		rec := r.s.Send(rctx, params, p)
		sent := inFlight
		if inFlight {
			r.s.finished(rec)
			inFlight = false
		}
		if ctx.Err() != nil {
			// Cut short by the end of ctx: not answered.
			if sent && r.b.OnCutShort != nil {
				r.b.OnCutShort(rec)
			}
			return
		}
		r.answered(rec)
	}
}

// stopped reports whether the batch stops for a fatal record.
func (r *batchRun) stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fatal && r.b.StopOnFatal
}

func (r *batchRun) sending(index int) {
	r.s.started()
	if r.b.OnSend != nil {
		r.b.OnSend(index)
	}
}

// answered hands rec over and notes whether it is fatal.
func (r *batchRun) answered(rec record.Request) {
	var err error
	if r.b.OnAnswer != nil {
		err = r.b.OnAnswer(rec)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fatal = r.fatal || rec.Fatal()
	if err != nil {
		r.errs = append(r.errs, err)
	}
}
