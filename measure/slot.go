package measure

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
)

// Slot is one sender's connection: a request slot reserved on a connection
// opened ahead. The sender's first request uses the reservation; later ones
// use the same connection when it is free, and otherwise the transport.
type Slot struct {
	wc *warmConn

	mu       sync.Mutex
	reserved bool
	uses     int
}

type slotKey struct{}

// slotRef is a sender's slot, known once the batch's connections are open
// (nil until then, or when there is none). When the connections were not
// all open at the instant, a sender without a slot waits for the next one
// the burst opens (late), rather than dial on its own: a thousand senders
// dialling at once would each pay a handshake at the instant.
type slotRef struct {
	p     atomic.Pointer[Slot]
	burst atomic.Pointer[Burst] // set with p when the batch has a burst
	ready chan struct{}         // closed once p and burst are set; nil: set already
	set   *atomic.Bool          // set with ready (shared), read without a channel lock
}

// WithSlot returns a context whose requests go out on s (nil: on the
// transport, as usual).
func WithSlot(ctx context.Context, s *Slot) context.Context {
	r := &slotRef{}
	r.p.Store(s)
	return context.WithValue(ctx, slotKey{}, r)
}

// SenderSlots are the slots of a batch's senders, one each, known once the
// batch's Burst is open (Set). A sender's requests go out on its slot (With):
// its first request waits for Set, and, when the burst was still opening
// connections at the instant, for the next connection it opens.
type SenderSlots struct{ refs []slotRef }

// NewSenderSlots returns the slots of n senders, not set yet.
func NewSenderSlots(n int) *SenderSlots { return &SenderSlots{refs: newSlotRefs(n)} }

// With returns a context whose requests go out on the slot of sender i (a
// nil s: on the transport, as usual).
func (s *SenderSlots) With(ctx context.Context, i int) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, slotKey{}, &s.refs[i])
}

// Set gives the senders their slots of b (nil b: none, and they dial).
func (s *SenderSlots) Set(b *Burst) {
	if s != nil {
		setSlots(s.refs, b)
	}
}

// newSlotRefs returns n slot references, not set yet.
func newSlotRefs(n int) []slotRef {
	refs := make([]slotRef, n)
	ready := make(chan struct{})
	set := new(atomic.Bool)
	for i := range refs {
		refs[i].ready, refs[i].set = ready, set
	}
	return refs
}

// setSlots gives the senders their slots of b (nil b: none).
func setSlots(refs []slotRef, b *Burst) {
	for i := range refs {
		refs[i].p.Store(b.Slot(i))
		if b != nil && b.shared != nil {
			refs[i].burst.Store(b)
		}
	}
	if len(refs) > 0 && refs[0].ready != nil {
		refs[0].set.Store(true)
		close(refs[0].ready)
	}
}

// slot returns the sender's slot: its own, or, when the burst was still
// opening connections at the instant, the next one it opens (waiting until
// ctx ends).
func (r *slotRef) slot(ctx context.Context) *Slot {
	if r.ready != nil && !r.set.Load() {
		select {
		case <-r.ready:
		case <-ctx.Done():
			return nil
		}
	}
	if s := r.p.Load(); s != nil {
		return s
	}
	if b := r.burst.Load(); b != nil {
		s := b.late(ctx)
		if s != nil {
			r.p.Store(s) // the sender's, for its later requests too
		}
		return s
	}
	return nil
}

// take claims s for one request: its reservation, or a new one on its
// connection. It reports false when the connection cannot take a request
// now; the request then goes through the transport.
func (s *Slot) take() (reused bool, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reserved {
		s.reserved = false
	} else if s.wc.cc.Reserve() != nil {
		return false, false
	}
	s.uses++
	return s.uses > 1 || s.wc.info.proto == "HTTP/2.0", true
}

// release gives back an unused reservation.
func (s *Slot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reserved {
		s.reserved = false
		s.wc.cc.Release()
	}
}

// slotTransport sends a request whose context carries a Slot on the
// slot's connection, and any other request through Base. Its trace sees the
// connection as the transport's would show it: GotConn, with the
// connection.
type slotTransport struct {
	Base *http.Transport
}

func (t slotTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := release(req.Context()); err != nil {
		return nil, err
	}
	var s *Slot
	if r, ok := req.Context().Value(slotKey{}).(*slotRef); ok {
		s = r.slot(req.Context())
	}
	if s != nil {
		if reused, ok := s.take(); ok {
			if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.GotConn != nil {
				trace.GotConn(httptrace.GotConnInfo{Conn: s.wc.raw, Reused: reused})
			}
			return s.wc.cc.RoundTrip(req)
		}
	}
	return t.Base.RoundTrip(req)
}

// CloseIdleConnections closes Base's idle connections.
func (t slotTransport) CloseIdleConnections() { t.Base.CloseIdleConnections() }
