package measure

import (
	"sync"
	"time"
)

// FireGates releases, at one instant, every sender of every batch (of one
// endpoint) that waits for that instant. One timer per instant, not one per
// batch: batches woken one after another would queue behind each other's
// senders and start late.
type FireGates struct {
	mu    sync.Mutex
	gates map[int64]*fireGate
}

type fireGate struct {
	open  chan struct{}
	users int
	timer *time.Timer
}

// Wait returns a channel that is closed at the instant at, and a func to call
// when the caller no longer needs it.
func (g *FireGates) Wait(at time.Time) (<-chan struct{}, func()) {
	key := at.UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates == nil {
		g.gates = map[int64]*fireGate{}
	}
	gate := g.gates[key]
	if gate == nil {
		gate = &fireGate{open: make(chan struct{})}
		gate.timer = time.AfterFunc(time.Until(at), func() { close(gate.open) })
		g.gates[key] = gate
	}
	gate.users++
	return gate.open, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		gate.users--
		if gate.users == 0 {
			delete(g.gates, key)
		}
	}
}
