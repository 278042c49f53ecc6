package simulator

import (
	"context"
	"sync"
)

// gate admits at most limit holders at once (limit <= 0: unlimited) and
// queues the others in FIFO order. It also records the highest number of
// simultaneous holders.
type gate struct {
	mu       sync.Mutex
	limit    int
	inUse    int
	maxInUse int
	queue    []*ticket
}

// ticket is one request's place at the gate.
type ticket struct {
	g     *gate
	ready chan struct{} // closed when the ticket holds a slot
}

// join takes a slot immediately if one is free and nobody is queued;
// otherwise it queues the ticket. It never blocks: call wait to block until
// the slot is granted.
func (g *gate) join() *ticket {
	t := &ticket{g: g, ready: make(chan struct{})}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.limit <= 0 || (g.inUse < g.limit && len(g.queue) == 0) {
		g.inUse++
		if g.inUse > g.maxInUse {
			g.maxInUse = g.inUse
		}
		close(t.ready)
		return t
	}
	g.queue = append(g.queue, t)
	return t
}

// granted reports whether the ticket holds a slot.
func (t *ticket) granted() bool {
	select {
	case <-t.ready:
		return true
	default:
		return false
	}
}

// wait blocks until the ticket holds a slot (nil), ctx is done (ctx.Err()) or
// abort is closed (errClosed). When it returns an error the ticket holds no
// slot and is no longer queued; when it returns nil the caller must call
// release exactly once.
func (t *ticket) wait(ctx context.Context, abort <-chan struct{}) error {
	var err error
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-abort:
		err = errClosed
	}
	g := t.g
	g.mu.Lock()
	if t.granted() {
		// The slot was handed over while we were giving up: pass it on.
		g.mu.Unlock()
		g.release()
		return err
	}
	for i, q := range g.queue {
		if q == t {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			break
		}
	}
	g.mu.Unlock()
	return err
}

// release gives up a slot. If requests are queued, the slot passes to the
// oldest one, so the number of holders never drops and rises again around a
// hand-over.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		g.queue[0] = nil
		g.queue = g.queue[1:]
		close(next.ready)
		return
	}
	g.inUse--
}

// snapshot returns the current number of holders, queued tickets and the
// highest number of simultaneous holders seen.
func (g *gate) snapshot() (inUse, queued, maxInUse int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inUse, len(g.queue), g.maxInUse
}
