package measure

import (
	"context"
	"crypto/tls"
	"errors"
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

	// noH1Probe is set once a server announced that it closes an HTTP/1.1
	// connection after answering its probe (Connection: close), or closed
	// many without saying so: its connections are then opened without one
	// (see open). h1ProbeFails and h1ProbeOKs count the probes that lost
	// their connection and those that kept it.
	noH1Probe    atomic.Bool
	h1ProbeFails atomic.Int64
	h1ProbeOKs   atomic.Int64

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

// open opens one connection to addr and waits until it is ready: TLS
// handshake done and one small request answered on it (probeConn). Over
// HTTP/2 that answer comes after the server's SETTINGS (every HTTP/2
// server sends them first), so the stream limit is known. Over HTTP/1.1 it
// makes the connection's first request, like its later ones, a write into
// memory already in use: a connection's writer goroutine grows its stack
// and touches its buffers on its first request, and a thousand connections
// doing that at the send instant (a stack copy and page faults each) made
// the start spread twice the reference client's, whose connections had
// each carried a request (see bench/README.md). A server that closes a
// connection after that answer gets connections without it.
func (p *ConnPool) open(ctx context.Context, scheme, addr, probe string) (*warmConn, error) {
	for try := 0; ; try++ {
		wc, err := p.openOnce(ctx, scheme, addr, probe, try < maxH1ProbeTries)
		if !errors.Is(err, errProbeLost) {
			return wc, err
		}
	}
}

// maxH1ProbeTries bounds the HTTP/1.1 connections that open opens with a
// probe for one connection: past them, it opens the last without one.
// minH1ProbeFails is how many probes must have lost their connection,
// without the server saying why, and more than kept it, before the pool
// stops probing that server's connections. A connection lost now and then
// (a reset in a thousand opens) must not cost every later burst of the
// worker its probes: without them a burst's start spread doubled.
const (
	maxH1ProbeTries = 2
	minH1ProbeFails = 8
)

// errProbeLost is an HTTP/1.1 connection lost with its probe: open opens
// another.
var errProbeLost = errors.New("the connection was closed after its probe")

// h1Probing reports whether HTTP/1.1 connections to this pool's server are
// still probed (see noH1Probe).
func (p *ConnPool) h1Probing() bool {
	if p.noH1Probe.Load() {
		return false
	}
	if f := p.h1ProbeFails.Load(); f >= minH1ProbeFails && f > p.h1ProbeOKs.Load() {
		p.noH1Probe.Store(true)
		return false
	}
	return true
}

// openOnce opens one connection, as open says, with a probe over HTTP/1.1
// when probeH1 is set and the server's connections are still probed.
func (p *ConnPool) openOnce(ctx context.Context, scheme, addr, probe string, probeH1 bool) (*warmConn, error) {
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
		if _, err := probeConn(ctx, cc, probe); err != nil {
			cc.Close()
			return nil, err
		}
	} else if probeH1 && p.h1Probing() {
		if err := p.probeH1(ctx, cc, probe); err != nil {
			cc.Close()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("open a connection to %s: %w", addr, context.Cause(ctx))
			}
			return nil, err
		}
	}
	wc.info.readyAt = time.Now()
	if wc.raw != nil {
		p.opened.Store(wc.raw, wc.info)
	}
	return wc, nil
}

// probeH1 sends the probe on the new HTTP/1.1 connection cc and waits until
// cc can take its next request. When the server closed it instead (or
// refused the probe), it returns errProbeLost: when the server said it
// would close it, its connections are opened without a probe from now on;
// otherwise only after many (see minH1ProbeFails).
func (p *ConnPool) probeH1(ctx context.Context, cc *http.ClientConn, probe string) error {
	closing, err := probeConn(ctx, cc, probe)
	if err == nil {
		err = waitAvailable(ctx, cc)
	}
	switch {
	case err == nil:
		p.h1ProbeOKs.Add(1)
		return nil
	case ctx.Err() != nil:
		return err
	case closing:
		p.noH1Probe.Store(true)
	default:
		p.h1ProbeFails.Add(1)
	}
	return errProbeLost
}

// waitAvailable waits until the HTTP/1.1 connection cc can take its next
// request (its probe's answer read to the end): an error when it was closed
// instead, or ctx ended first.
func waitAvailable(ctx context.Context, cc *http.ClientConn) error {
	changed := make(chan struct{}, 1)
	cc.SetStateHook(func(*http.ClientConn) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer cc.SetStateHook(nil)
	for {
		if err := cc.Err(); err != nil {
			return err
		}
		if cc.Available() > 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// probeConn sends one request without credentials (GET of the endpoint's
// models list, as a client listing models does) on cc and reads its answer,
// whatever its status.
//
// closing reports whether the answer said that the server closes the
// connection after it (Connection: close).
func probeConn(ctx context.Context, cc *http.ClientConn, probe string) (closing bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
	if err != nil {
		return false, err
	}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return false, fmt.Errorf("read the HTTP/2 settings of a new connection: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Close, resp.Body.Close()
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
