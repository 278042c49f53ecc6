package measure

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// ConnPool opens, ahead of a concurrent pass's common send instant, every
// connection its requests will be sent on, ready to the last byte: TCP
// connect, TLS handshake and, over HTTP/2, the connection preface and the
// server's SETTINGS, so that the client knows each connection's stream limit
// (SETTINGS_MAX_CONCURRENT_STREAMS) and opens as many connections as the
// pass needs. At the instant, a request is only written. This is what wrk
// does before it measures, and what a load generator must do for the start
// spread to be the scheduler's and not the handshakes'.
//
// The connections are opened with the endpoint's own transport
// (http.Transport.NewClientConn): the same TLS configuration, protocols and
// proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) as the requests the transport
// sends itself, so a proxy is honoured by warm-up and sends alike. They are
// not in the transport's idle pool: each batch holds its own (see Burst)
// and closes them when it ends.
type ConnPool struct {
	// Transport opens the connections. NewHTTPClient sets it to the
	// client's transport.
	Transport *http.Transport
	// Dialer is the TCP dialer of Transport (NewHTTPClient's DialContext
	// uses it).
	Dialer *net.Dialer

	// opened maps the raw connection of every connection opened ahead to
	// what a request's trace needs to know about it (connInfo).
	opened sync.Map

	mu     sync.Mutex
	shared map[int64]*sharedBurst // by send instant
}

// connInfo is what the pool knows of a connection it opened ahead.
type connInfo struct {
	// readyAt is when the connection was ready to carry a request: TCP and
	// TLS done, and over HTTP/2 the server's SETTINGS read.
	readyAt time.Time
	// proto is "HTTP/1.1" or "HTTP/2.0".
	proto string
}

// dialHookKey carries, in the context of NewClientConn, a func that
// receives the raw connection the transport dials.
type dialHookKey struct{}

// DialContext dials addr with p.Dialer and hands the connection to the
// hook of ctx, if any: that is how the pool learns the raw connection under
// each connection it opens. It is the transport's DialContext.
func (p *ConnPool) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := p.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		if hook, ok := ctx.Value(dialHookKey{}).(func(net.Conn)); ok {
			hook(c)
		}
	}
	return c, err
}

// info returns what the pool knows of c, if it opened it ahead.
func (p *ConnPool) info(c net.Conn) (connInfo, bool) {
	if p == nil || c == nil {
		return connInfo{}, false
	}
	v, ok := p.opened.Load(c)
	if !ok {
		return connInfo{}, false
	}
	return v.(connInfo), true
}

// Burst is one batch's share of the connections opened ahead of a send
// instant: the request slots reserved for it, one per sender, each the right
// to send one request at once on a connection that is ready. The batches
// of one instant share their connections (see ConnPool.Join): over HTTP/2,
// N requests take N / stream-limit connections, whatever the shards.
type Burst struct {
	shared *sharedBurst
	ticket *ticket
	slots  []*Slot
	handed int // slots handed out: len(slots) at first, then the late ones
	conns  int
	// Proto is the protocol the endpoint chose ("HTTP/1.1", "HTTP/2.0"),
	// or "" when no connection could be opened.
	Proto string
	// StreamLimit is, over HTTP/2, the streams sent at once per
	// connection: the server's limit as its SETTINGS gave it, at most
	// MaxStreamsPerConn (1 over HTTP/1.1).
	StreamLimit int
	// Err is why the first connection could not be opened, if it could
	// not: the requests then dial themselves, and say so.
	Err error
}

// warmConn is one connection opened ahead.
type warmConn struct {
	cc   *http.ClientConn
	raw  net.Conn
	info connInfo
	// assigned counts the slots handed out on it (under sharedBurst.mu).
	assigned int
}

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
		if !waitDeep(ctx, h.fire) {
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

// Slot returns the i-th slot, or nil when there are not that many (the
// sender then goes through the transport, and dials).
func (b *Burst) Slot(i int) *Slot {
	if b == nil || i < 0 || i >= len(b.slots) {
		return nil
	}
	return b.slots[i]
}

// Conns returns how many connections were open for the instant when the
// batch got its slots (its own and the other batches').
func (b *Burst) Conns() int {
	if b == nil {
		return 0
	}
	return b.conns
}

// late returns the next slot the burst gives the batch after the instant,
// waiting for it until ctx ends; nil when no more will come.
func (b *Burst) late(ctx context.Context) *Slot {
	sb, t := b.shared, b.ticket
	for {
		sb.mu.Lock()
		if b.handed < len(t.slots) {
			s := t.slots[b.handed]
			b.handed++
			sb.mu.Unlock()
			return s
		}
		changed := t.changed
		sb.mu.Unlock()
		select {
		case <-changed:
		case <-t.done:
			sb.mu.Lock()
			more := b.handed < len(t.slots)
			sb.mu.Unlock()
			if !more {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// Close releases the batch's unused slots, and closes the connections once
// every batch of the instant has closed its Burst. Call it once the batch's
// requests have all returned.
func (b *Burst) Close() {
	if b == nil {
		return
	}
	slots := b.slots
	if b.shared != nil && b.ticket != nil {
		b.shared.mu.Lock()
		b.ticket.gone = true
		slots = b.ticket.slots
		b.shared.mu.Unlock()
	}
	for _, s := range slots {
		s.release()
	}
	if b.shared != nil {
		b.shared.leave()
	}
}

// MaxStreamsPerConn caps the requests sent at once on one HTTP/2
// connection, below the server's own limit when that is higher: a
// connection writes its requests one after another (one TLS stream, one
// write lock), so 1000 requests on one connection left over about 300 ms
// where 10 connections of 100 took a fraction of that (see
// bench/README.md). It is also the limit Go's client assumes before a
// server's SETTINGS arrive.
const MaxStreamsPerConn = 100

// lateOpenFor is how long after the instant the connections not open yet
// are still opened, for the senders that wait for them.
const lateOpenFor = 30 * time.Second

// maxConnsPerBurst bounds the connections opened for one instant, whatever
// a server's stream limit says; maxOpenFailures bounds the failed attempts,
// after which the requests left without a slot dial themselves.
const (
	maxConnsPerBurst = 10000
	maxOpenFailures  = 20
)

// sharedBurst is the connections opened for one send instant, shared by
// the batches (shards) that send at it. One goroutine (run) opens them:
// the first alone, to learn the protocol and, over HTTP/2, the stream limit;
// then, in parallel, as many as the slots asked for so far need, and it
// hands out the slots in the order they were asked for.
type sharedBurst struct {
	pool                *ConnPool
	key                 int64
	scheme, addr, probe string
	cancel              context.CancelFunc
	wake                chan struct{}

	mu       sync.Mutex
	conns    []*warmConn
	next     int // conns before next have no free stream
	opening  int
	done     []time.Time // opens ended since run last looked (their start)
	failures int
	limit    int // streams per connection; 0 until the first is open
	proto    string
	err      error
	tickets  []*ticket
	users    int
	finished int           // batches whose requests have all returned
	allDone  chan struct{} // closed when every batch that joined has finished
	over     bool          // run has returned: no more slots
	closed   bool          // every batch left: the connections are closed
}

// ticket is one batch's request for slots.
type ticket struct {
	want    int
	slots   []*Slot
	done    chan struct{} // closed when served, or when no more will come
	changed chan struct{} // closed (and replaced) when slots are added
	gone    bool          // the batch is done: no more slots for it
}

// Join returns the batch's share of the connections for the instant at:
// n slots on connections opened ahead, together with the other batches of
// this worker that send at the same instant, waiting for them until ctx
// ends. A slot not ready by then is not given: its sender dials (and its
// record says so). It never fails; Burst.Err says why nothing could be
// opened.
func (p *ConnPool) Join(ctx context.Context, baseURL string, at time.Time, n int) *Burst {
	scheme, addr := schemeHostPort(baseURL)
	if addr == "" || n < 1 || p.Transport == nil {
		return &Burst{}
	}
	key := at.UnixNano()
	p.mu.Lock()
	if p.shared == nil {
		p.shared = map[int64]*sharedBurst{}
	}
	sb := p.shared[key]
	if sb == nil || sb.addr != addr {
		runCtx, cancel := context.WithDeadline(context.Background(), at.Add(lateOpenFor))
		sb = p.newShared(scheme, addr, baseURL, cancel)
		sb.key = key
		p.shared[key] = sb
		go sb.run(runCtx)
	}
	sb.users++
	p.mu.Unlock()
	return sb.join(ctx, n)
}

// Warm is Join for a batch of its own: the connections n requests sent
// at once need, opened until ctx ends, and not shared.
func (p *ConnPool) Warm(ctx context.Context, baseURL string, n int) *Burst {
	scheme, addr := schemeHostPort(baseURL)
	if addr == "" || n < 1 || p.Transport == nil {
		return &Burst{}
	}
	runCtx, cancel := context.WithCancel(ctx)
	sb := p.newShared(scheme, addr, baseURL, cancel)
	sb.key = -1
	sb.users = 1
	go sb.run(runCtx)
	return sb.join(ctx, n)
}

func (p *ConnPool) newShared(scheme, addr, baseURL string, cancel context.CancelFunc) *sharedBurst {
	return &sharedBurst{pool: p, scheme: scheme, addr: addr, probe: probeURL(baseURL), cancel: cancel, wake: make(chan struct{}, 1), allDone: make(chan struct{})}
}

func (sb *sharedBurst) signal() {
	select {
	case sb.wake <- struct{}{}:
	default:
	}
}

// join asks for n slots and waits for them until ctx ends.
func (sb *sharedBurst) join(ctx context.Context, n int) *Burst {
	t := &ticket{want: n, done: make(chan struct{}), changed: make(chan struct{})}
	sb.mu.Lock()
	if sb.over {
		close(t.done)
	} else {
		sb.tickets = append(sb.tickets, t)
	}
	sb.mu.Unlock()
	sb.signal()
	select {
	case <-t.done:
	case <-ctx.Done():
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	b := &Burst{shared: sb, ticket: t, slots: t.slots, handed: len(t.slots), conns: len(sb.conns), Proto: sb.proto, StreamLimit: sb.limit, Err: sb.err}
	if b.Err == nil && len(sb.conns) == 0 && ctx.Err() != nil {
		b.Err = fmt.Errorf("no connection to %s was open in time: %w", sb.addr, ctx.Err())
	}
	return b
}

// Finish says that the batch's requests have all returned, and waits until
// those of every batch of the instant have, ctx ends, or 5 s have passed. A batch that
// reported its result at once would do it (encode its records, call
// Temporal) while the other batches' last responses arrive, and delay
// them: the pass's total would include that work.
func (b *Burst) Finish(ctx context.Context) {
	if b == nil || b.shared == nil {
		return
	}
	sb := b.shared
	sb.pool.mu.Lock()
	sb.finished++
	if sb.finished == sb.users {
		close(sb.allDone)
	}
	sb.pool.mu.Unlock()
	t := time.NewTimer(maxFinishWait)
	defer t.Stop()
	select {
	case <-sb.allDone:
	case <-ctx.Done():
	case <-t.C:
	}
}

// maxFinishWait bounds Finish's wait for the other batches: a batch still
// waiting for a stuck request does not hold the others' results back for
// longer.
const maxFinishWait = 5 * time.Second

// leave is called by each batch when it is done; the last one closes the
// connections.
func (sb *sharedBurst) leave() {
	p := sb.pool
	p.mu.Lock()
	sb.users--
	last := sb.users == 0
	if last && p.shared[sb.key] == sb {
		delete(p.shared, sb.key)
	}
	p.mu.Unlock()
	if !last {
		return
	}
	sb.cancel()
	sb.mu.Lock()
	sb.closed = true
	conns := sb.conns
	sb.mu.Unlock()
	for _, wc := range conns {
		sb.drop(wc)
	}
}

// drop closes a connection and forgets it.
func (sb *sharedBurst) drop(wc *warmConn) {
	wc.cc.Close()
	if wc.raw != nil {
		sb.pool.opened.Delete(wc.raw)
	}
}

// run opens the connections until ctx ends (the instant, or the last
// batch leaving).
func (sb *sharedBurst) run(ctx context.Context) {
	defer sb.stop()
	if !sb.openFirst(ctx) {
		return
	}
	// Opens that take longer than hedgeAfter (a dropped SYN waits a second
	// or more before it is sent again) no longer count as coming: others
	// are started beside them, and whichever open first serve.
	var started []time.Time // start of each open in progress
	tick := time.NewTicker(hedgeAfter / 2)
	defer tick.Stop()
	for {
		need, now, more := sb.plan(started)
		if !more {
			// Nothing more will open: the senders left dial.
			return
		}
		for range need {
			started = append(started, now)
			go sb.openOne(ctx, now)
		}
		started = sb.forgetEnded(started)
		select {
		case <-sb.wake:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// stop ends run: no more slots; the tickets not served yet get none.
func (sb *sharedBurst) stop() {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.over = true
	for _, t := range sb.tickets {
		close(t.done)
	}
	sb.tickets = nil
}

// openFirst opens the first connection alone, to learn the protocol and,
// over HTTP/2, the stream limit; false when it could not (sb.err says why).
func (sb *sharedBurst) openFirst(ctx context.Context) bool {
	first, err := sb.pool.open(ctx, sb.scheme, sb.addr, sb.probe)
	sb.mu.Lock()
	if err != nil {
		sb.err = err
		sb.mu.Unlock()
		return false
	}
	sb.proto = first.info.proto
	sb.limit = 1
	if sb.proto == "HTTP/2.0" {
		sb.limit = min(max(1, first.cc.Available()), MaxStreamsPerConn)
	}
	sb.mu.Unlock()
	sb.add(first)
	return true
}

// plan hands out the slots of the connections open, and returns how many
// more opens to start now (counted as opening), given the start of each
// open in progress (those younger than hedgeAfter are still coming). It
// returns more=false when nothing more will open though slots are wanted:
// too many opens failed.
func (sb *sharedBurst) plan(started []time.Time) (need int, now time.Time, more bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	unserved := sb.assign()
	now = time.Now()
	fresh := 0
	for _, t := range started {
		if now.Sub(t) < hedgeAfter {
			fresh++
		}
	}
	need = (unserved+sb.limit-1)/sb.limit - fresh
	need = min(need, maxConnsPerBurst-len(sb.conns)-sb.opening)
	if sb.failures >= maxOpenFailures {
		need = 0
		if sb.opening == 0 && unserved > 0 {
			return 0, now, false
		}
	}
	need = max(need, 0)
	sb.opening += need
	return need, now, true
}

// openOne opens one more connection, started at start (see plan).
func (sb *sharedBurst) openOne(ctx context.Context, start time.Time) {
	wc, err := sb.pool.open(ctx, sb.scheme, sb.addr, sb.probe)
	sb.mu.Lock()
	sb.opening--
	if err != nil {
		sb.failures++
	}
	sb.done = append(sb.done, start)
	sb.mu.Unlock()
	if err == nil {
		sb.add(wc)
	}
	sb.signal()
}

// forgetEnded removes from started the opens that ended since it last
// looked.
func (sb *sharedBurst) forgetEnded(started []time.Time) []time.Time {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, d := range sb.done {
		for i, t := range started {
			if t.Equal(d) {
				started = append(started[:i], started[i+1:]...)
				break
			}
		}
	}
	sb.done = sb.done[:0]
	return started
}

// hedgeAfter is how long an open may take before another is started beside
// it.
const hedgeAfter = time.Second

// add adds an open connection, or closes it when every batch has left.
func (sb *sharedBurst) add(wc *warmConn) {
	sb.mu.Lock()
	closed := sb.closed
	if !closed {
		sb.conns = append(sb.conns, wc)
	}
	sb.mu.Unlock()
	if closed {
		sb.drop(wc)
	}
}

// assign reserves slots for the tickets, in order, on the connections with
// a free stream, and returns how many slots are still wanted. Callers hold
// sb.mu.
func (sb *sharedBurst) assign() (unserved int) {
	kept := sb.tickets[:0]
	for _, t := range sb.tickets {
		if t.gone {
			continue
		}
		for len(t.slots) < t.want && sb.next < len(sb.conns) {
			wc := sb.conns[sb.next]
			if wc.assigned >= sb.limit || wc.cc.Reserve() != nil {
				sb.next++
				continue
			}
			wc.assigned++
			t.slots = append(t.slots, &Slot{wc: wc, reserved: true})
			close(t.changed)
			t.changed = make(chan struct{})
		}
		if len(t.slots) == t.want {
			close(t.done)
			continue
		}
		unserved += t.want - len(t.slots)
		kept = append(kept, t)
	}
	sb.tickets = kept
	return unserved
}

// open opens one connection to addr and waits until it is ready: TLS
// handshake done and, over HTTP/2, the server's SETTINGS read (learnt from
// the answer to one small request: every HTTP/2 server sends its SETTINGS
// first, so any answer comes after them).
func (p *ConnPool) open(ctx context.Context, scheme, addr, probe string) (*warmConn, error) {
	var (
		mu  sync.Mutex
		raw net.Conn
		st  *tls.ConnectionState
	)
	trace := &httptrace.ClientTrace{TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
		if err == nil {
			mu.Lock()
			st = &cs
			mu.Unlock()
		}
	}}
	dctx := httptrace.WithClientTrace(context.WithValue(ctx, dialHookKey{}, func(c net.Conn) {
		mu.Lock()
		raw = c
		mu.Unlock()
	}), trace)
	cc, err := p.Transport.NewClientConn(dctx, scheme, addr)
	if err != nil {
		return nil, fmt.Errorf("open a connection to %s: %w", addr, err)
	}
	mu.Lock()
	wc := &warmConn{cc: cc, raw: raw, info: connInfo{proto: "HTTP/1.1"}}
	if st != nil && st.NegotiatedProtocol == "h2" {
		wc.info.proto = "HTTP/2.0"
	}
	mu.Unlock()
	if wc.info.proto == "HTTP/2.0" {
		if err := probeConn(ctx, cc, probe); err != nil {
			cc.Close()
			return nil, err
		}
	}
	wc.info.readyAt = time.Now()
	if wc.raw != nil {
		p.opened.Store(wc.raw, wc.info)
	}
	return wc, nil
}

// probeConn sends one request without credentials (GET of the endpoint's
// models list, as a client listing models does) on cc and reads its answer,
// whatever its status.
func probeConn(ctx context.Context, cc *http.ClientConn, probe string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
	if err != nil {
		return err
	}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("read the HTTP/2 settings of a new connection: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}

// probeURL is the URL of the models list under baseURL.
func probeURL(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return baseURL
	}
	u = u.JoinPath("models")
	u.User = nil
	return u.String()
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

// schemeHostPort returns the scheme of baseURL and the address the HTTP
// transport dials for it.
func schemeHostPort(baseURL string) (scheme, addr string) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return "", ""
	}
	if u.Port() != "" {
		return u.Scheme, u.Host
	}
	switch u.Scheme {
	case "https":
		return u.Scheme, net.JoinHostPort(u.Hostname(), "443")
	case "http":
		return u.Scheme, net.JoinHostPort(u.Hostname(), "80")
	}
	return "", ""
}

// hostPort is the address the HTTP transport dials for baseURL.
func hostPort(baseURL string) string {
	_, addr := schemeHostPort(baseURL)
	return addr
}
