package measure

import (
	"net"
	"net/http"
	"time"
)

// CloseIdleConnections closes the base transport's idle connections, so that
// http.Client.CloseIdleConnections reaches them.
func (t CaptureTransport) CloseIdleConnections() {
	if ci, ok := t.Base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// NewHTTPClient returns an HTTP client for go-openai sized for many requests
// in flight at once: no cap on connections per host, idle connections kept
// for 30 s, no client-wide timeout (each request has its own), and, with a
// pool, the requests of a concurrent pass sent on the connections the pool
// opened ahead of its send instant (see ConnPool and WithSlot).
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
	tr.MaxResponseHeaderBytes = MaxHeaderBytes // see bound.go
	var rt http.RoundTripper = tr
	if pool != nil {
		pool.Dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		pool.Transport = tr
		tr.DialContext = pool.DialContext
		rt = slotTransport{Base: tr}
	}
	return &http.Client{Transport: CaptureTransport{Base: rt}, CheckRedirect: noRedirects}
}
