package measure

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

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

// maxOpening bounds the opens in progress at once. Ten thousand connects at
// once overflow a server's queue of connections not yet accepted (Linux
// keeps at most net.core.somaxconn, 4096 by default, and fewer half-open
// ones): the dropped SYNs are sent again after 1 s, 3 s, 7 s, each open
// that late is hedged, and a busy machine spent the whole fire lead
// opening. A few hundred at a time keep the queue short and the opens fast.
const maxOpening = 512

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
	hedge               time.Duration // see hedgeAfter; set by openFirst, read by run only

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
	stacks   stackReserve // over HTTP/2, see stacks.go
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
	b := &Burst{shared: sb, ticket: t, slots: t.slots, handed: len(t.slots), conns: len(sb.conns), Proto: sb.proto, StreamLimit: sb.limit, Err: sb.err}
	if b.Err == nil && len(sb.conns) == 0 && ctx.Err() != nil {
		b.Err = fmt.Errorf("no connection to %s was open in time: %w", sb.addr, ctx.Err())
	}
	sb.mu.Unlock()
	if b.Proto == "HTTP/2.0" && sb.key > 0 {
		sb.stacks.add(time.Unix(0, sb.key), len(b.slots))
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
	sb.stacks.letGo()
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
	// Opens that take longer than sb.hedge (a dropped SYN waits a second
	// or more before it is sent again) no longer count as coming: others
	// are started beside them, and whichever open first serve.
	var started []openGroup // the opens in progress, by start
	tick := time.NewTicker(sb.hedge / 2)
	defer tick.Stop()
	for {
		need, now, more := sb.plan(started)
		if !more {
			// Nothing more will open: the senders left dial.
			return
		}
		if need > 0 {
			started = append(started, openGroup{at: now, n: need})
		}
		for range need {
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
	start := time.Now()
	first, err := sb.pool.open(ctx, sb.scheme, sb.addr, sb.probe)
	// A far server takes several round trips to open (TCP, TLS, the
	// probe): an open is hedged only once it takes well over what the
	// first one took (but not later than maxHedgeAfter: the first may have
	// been slow for a dropped SYN of its own).
	sb.hedge = min(max(hedgeAfter, 2*time.Since(start)), maxHedgeAfter)
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
// open in progress (those younger than sb.hedge are still coming). It
// returns more=false when nothing more will open though slots are wanted:
// too many opens failed.
func (sb *sharedBurst) plan(started []openGroup) (need int, now time.Time, more bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	unserved := sb.assign()
	now = time.Now()
	fresh := 0
	for _, g := range started {
		if now.Sub(g.at) < sb.hedge {
			fresh += g.n
		}
	}
	need = (unserved+sb.limit-1)/sb.limit - fresh
	need = min(need, maxConnsPerBurst-len(sb.conns)-sb.opening, maxOpening-sb.opening)
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

// openGroup counts the opens in progress that started at one time: plan
// starts them together, so there are few groups however many opens (one
// entry per open made each wake cost a pass over all of them, and the
// opens of N=10,000 a hundred million steps).
type openGroup struct {
	at time.Time
	n  int
}

// forgetEnded removes from started the opens that ended since it last
// looked.
func (sb *sharedBurst) forgetEnded(started []openGroup) []openGroup {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, d := range sb.done {
		for i := range started {
			if started[i].at.Equal(d) {
				started[i].n--
				break
			}
		}
	}
	sb.done = sb.done[:0]
	kept := started[:0]
	for _, g := range started {
		if g.n > 0 {
			kept = append(kept, g)
		}
	}
	return kept
}

// hedgeAfter is how long an open may take, at least, before another is
// started beside it (twice the first open's time when that is longer: see
// sharedBurst.openFirst).
const hedgeAfter = time.Second

// maxHedgeAfter bounds the wait before a hedge however slow the first open.
const maxHedgeAfter = 3 * time.Second

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
