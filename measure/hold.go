package measure

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// holdKey carries a hold: see WithHold.
type holdKey struct{}

type hold struct {
	at        time.Time
	fire      <-chan struct{}
	onRelease func()
	once      sync.Once
}

// WithHold returns a context whose request, once go-openai has built it
// (body serialized, headers set), waits in the transport until fire is
// closed (at the instant at), and only then is written: at the instant
// nothing is left to do but write. onRelease, if set, runs at the release,
// in the request's goroutine. The request's send time (see
// Capture.sentAt) is the release.
func WithHold(ctx context.Context, at time.Time, fire <-chan struct{}, onRelease func()) context.Context {
	return context.WithValue(ctx, holdKey{}, &hold{at: at, fire: fire, onRelease: onRelease})
}

// holdLeft is how long the request of ctx will still be held.
func holdLeft(ctx context.Context) time.Duration {
	if h, ok := ctx.Value(holdKey{}).(*hold); ok {
		select {
		case <-h.fire:
		default:
			return max(0, time.Until(h.at))
		}
	}
	return 0
}

// release waits for the hold of ctx, if any, the first time it is asked.
func release(ctx context.Context) error {
	h, ok := ctx.Value(holdKey{}).(*hold)
	if !ok {
		return nil
	}
	var err error
	h.once.Do(func() {
		if !waitHeld(ctx, h.fire) {
			err = context.Cause(ctx)
			return
		}
		now := time.Now()
		if c, ok := ctx.Value(captureKey{}).(*Capture); ok {
			c.conn.released(now)
		}
		if h.onRelease != nil {
			h.onRelease()
		}
	})
	return err
}

// maxDeepWaits bounds the held requests of the worker that wait in
// waitDeep at once; the others wait in a small frame. Each deep wait holds
// a 32 KiB stack: with 10,000 held requests in it, the worker's goroutine
// stacks took 246 MB of its 640 MiB soft memory limit (see
// workerhost.MemoryLimit), and a worker's second pass of 10,000 spent 58%
// of its CPU in the garbage collector, three times its first pass; with
// none, they took 83 MB and there were no such collections
// (bench/README.md). Past a few thousand
// requests at one instant the start spread is hundreds of milliseconds
// whatever the frames do.
const maxDeepWaits = 2048

// deepWaits counts the requests waiting in waitDeep, shallowWaits the
// others.
var deepWaits, shallowWaits atomic.Int64

// waitHeld waits for fire (true) or the end of ctx (false): in waitDeep
// while fewer than maxDeepWaits requests do.
func waitHeld(ctx context.Context, fire <-chan struct{}) bool {
	if deepWaits.Add(1) > maxDeepWaits {
		deepWaits.Add(-1)
		shallowWaits.Add(1)
		defer shallowWaits.Add(-1)
		<-fire // see waitDeep for why not a select
		return ctx.Err() == nil
	}
	defer deepWaits.Add(-1)
	return waitDeep(ctx, fire)
}

// waitDeep waits for fire (true) or the end of ctx (false) inside a large
// stack frame. That keeps the held request's goroutine stack at the size
// the send needs: a frame in use while it waits keeps the garbage collector
// from shrinking the stack, so the senders released together do not each
// stop to grow (copy) their stacks.
//
//go:noinline
func waitDeep(ctx context.Context, fire <-chan struct{}) bool {
	var pad [16 << 10]byte
	pad[len(pad)-1] = 1
	// A plain receive, not a select with ctx.Done(): a goroutine woken
	// from a select locks every channel of it again, the shared fire
	// channel included, so a thousand senders released together would
	// queue on its lock. The gate always opens at its instant, so a
	// cancelled batch's senders still return by then.
	<-fire
	stackSink.Store(uint32(pad[len(pad)-1]))
	return ctx.Err() == nil
}

var stackSink atomic.Uint32
