package measure

import (
	"sync"
	"sync/atomic"
	"time"
)

// Over HTTP/2, Go's transport starts one goroutine per request to write
// it. A goroutine starts with a small stack and grows it, by copying, into
// stacks taken from the runtime's pools; a pool that has none takes fresh
// memory, and the first touch of each of its pages is a page fault. A
// thousand such goroutines started at the send instant spent half the
// worker's CPU at the instant growing stacks into fresh memory (perf, see
// bench/README.md), and their start spread was several times a reference
// client's, whose process had just run as many requests.
//
// stackReserve makes those stacks ready before the instant: goroutines
// that grow their stacks as far as a request's writer does, all at once,
// wait until shortly before the instant, and exit. Their stacks go back to
// the runtime's pools, in memory already touched, for the writers to take.

// stackWarmLead is how long before the instant the reserve's goroutines
// exit: long enough for a thousand to end before the senders are released.
const stackWarmLead = 50 * time.Millisecond

// maxStackReserve bounds the goroutines of one instant's reserve (their
// stacks, about 60 KiB each while they grow, are memory the worker holds
// until the next garbage collection).
const maxStackReserve = 2048

// stackReserve is the reserve of one send instant.
type stackReserve struct {
	mu    sync.Mutex
	n     int
	until chan struct{} // closed when the goroutines exit
	timer *time.Timer   // closes until stackWarmLead before the instant
	gone  bool          // until is closed

	running atomic.Int64 // goroutines not ended yet
}

// add starts n more goroutines of the reserve for the instant at, unless
// it is too close, the reserve is full or let go.
func (r *stackReserve) add(at time.Time, n int) {
	lead := time.Until(at) - stackWarmLead
	if lead <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n = min(n, maxStackReserve-r.n)
	if n <= 0 || r.gone {
		return
	}
	r.n += n
	if r.until == nil {
		r.until = make(chan struct{})
		r.timer = time.AfterFunc(lead, r.letGo)
	}
	r.running.Add(int64(n))
	for range n {
		go func(until <-chan struct{}) {
			defer r.running.Add(-1)
			growStack(stackDepth, until)
		}(r.until)
	}
}

// letGo ends the reserve's goroutines (at the latest when the lead before
// the instant begins) and takes no more.
func (r *stackReserve) letGo() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return
	}
	r.gone = true
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.until != nil {
		close(r.until)
	}
}

// stackDepth frames of growStack use about 24 KiB of stack: the goroutine
// grows through every size of the runtime's stack pools (2, 4, 8 and 16
// KiB) to 32 KiB.
const stackDepth = 24

// growStack uses depth frames of about 1 KiB each, then waits for until.
//
//go:noinline
func growStack(depth int, until <-chan struct{}) byte {
	var frame [1 << 10]byte
	frame[depth] = byte(depth)
	if depth > 0 {
		frame[0] = growStack(depth-1, until)
	} else {
		<-until
	}
	return frame[0] + frame[depth]
}
