package activities

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

// Burst is the connections one batch opened ahead of its send instant, and
// the request slots reserved on them: one slot per sender, each the right to
// send one request at once on a connection that is ready.
type Burst struct {
	pool  *ConnPool
	conns []*warmConn
	slots []*Slot
	// Proto is the protocol the endpoint chose ("HTTP/1.1", "HTTP/2.0"),
	// or "" when no connection could be opened.
	Proto string
	// StreamLimit is, over HTTP/2, the server's limit of streams per
	// connection as its SETTINGS gave it (1 over HTTP/1.1).
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
// (nil until then, or when there is none).
type slotRef struct{ p atomic.Pointer[Slot] }

// WithSlot returns a context whose requests go out on s (nil: on the
// transport, as usual).
func WithSlot(ctx context.Context, s *Slot) context.Context {
	r := &slotRef{}
	r.p.Store(s)
	return context.WithValue(ctx, slotKey{}, r)
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
		select {
		case <-h.fire:
		case <-ctx.Done():
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

// Conns returns how many connections the burst opened.
func (b *Burst) Conns() int {
	if b == nil {
		return 0
	}
	return len(b.conns)
}

// Close releases the unused slots and closes the burst's connections. Call
// it once the batch's requests have all returned.
func (b *Burst) Close() {
	if b == nil {
		return
	}
	for _, s := range b.slots {
		s.release()
	}
	for _, wc := range b.conns {
		wc.cc.Close()
		if wc.raw != nil {
			b.pool.opened.Delete(wc.raw)
		}
	}
}

// maxConnsPerBurst bounds the connections one batch opens, whatever a
// server's stream limit says.
const maxConnsPerBurst = 10000

// Warm opens the connections that n requests sent at once to the host of
// baseURL need, and reserves one slot per request on them, until ctx ends.
// Over HTTP/1.1 that is n connections; over HTTP/2, as many as n streams
// take at the stream limit that the server's SETTINGS gave the first
// connection. Connections that cannot be opened in time are not: the
// requests without a slot dial themselves, and their records say so
// (connection_warm false). It never fails; Burst.Err says why nothing
// could be opened.
func (p *ConnPool) Warm(ctx context.Context, baseURL string, n int) *Burst {
	b := &Burst{pool: p}
	scheme, addr := schemeHostPort(baseURL)
	if addr == "" || n < 1 || p.Transport == nil {
		return b
	}
	probe := probeURL(baseURL)
	first, err := p.open(ctx, scheme, addr, probe)
	if err != nil {
		b.Err = err
		return b
	}
	b.conns = append(b.conns, first)
	b.Proto = first.info.proto
	perConn := 1
	if first.info.proto == "HTTP/2.0" {
		perConn = max(1, first.cc.Available())
	}
	b.StreamLimit = perConn
	more := min((n+perConn-1)/perConn, maxConnsPerBurst) - 1
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range more {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc, err := p.open(ctx, scheme, addr, probe)
			if err != nil {
				return
			}
			mu.Lock()
			b.conns = append(b.conns, wc)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, wc := range b.conns {
		for len(b.slots) < n && wc.cc.Reserve() == nil {
			b.slots = append(b.slots, &Slot{wc: wc, reserved: true})
		}
	}
	return b
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
		s = r.p.Load()
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
