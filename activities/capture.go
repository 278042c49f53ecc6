package activities

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// Capture receives the HTTP status and headers of the response to one request.
// go-openai does not expose them for every outcome, so a RoundTripper records
// them (see CaptureTransport).
type Capture struct {
	mu     sync.Mutex
	status int
	header http.Header
}

// Status returns the captured HTTP status, or 0 when no response arrived.
func (c *Capture) Status() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Header returns the captured response headers, or nil.
func (c *Capture) Header() http.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.header
}

type captureKey struct{}

// WithCapture returns a context whose HTTP responses are recorded into c.
func WithCapture(ctx context.Context, c *Capture) context.Context {
	return context.WithValue(ctx, captureKey{}, c)
}

// CaptureTransport is an http.RoundTripper that records each response's status
// and headers into the Capture of the request's context, if any.
type CaptureTransport struct {
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t CaptureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if resp != nil {
		if c, ok := req.Context().Value(captureKey{}).(*Capture); ok {
			c.mu.Lock()
			c.status = resp.StatusCode
			c.header = resp.Header.Clone()
			c.mu.Unlock()
		}
	}
	return resp, err
}

// CloseIdleConnections closes the base transport's idle connections, so that
// http.Client.CloseIdleConnections reaches them.
func (t CaptureTransport) CloseIdleConnections() {
	if ci, ok := t.Base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// NewHTTPClient returns an HTTP client for go-openai sized for many requests
// in flight at once: no cap on connections per host, idle connections kept
// for 30 s, no client-wide timeout (each request has its own), and
// a dialer that takes connections pre-opened in pool first.
func NewHTTPClient(pool *ConnPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxConnsPerHost = 0
	// A connection whose response is in goes back to the idle pool rather
	// than being closed in the middle of the burst of responses; the pool
	// closes it after 30 s unused, so a pass of thousands of requests does
	// not hold thousands of sockets for long.
	tr.MaxIdleConnsPerHost = 1 << 16
	tr.IdleConnTimeout = 30 * time.Second
	if pool != nil {
		pool.Dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		tr.DialContext = pool.DialContext
	}
	return &http.Client{Transport: CaptureTransport{Base: tr}}
}
