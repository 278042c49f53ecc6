package measure

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/llmconc/llmconc/record"
)

// connTrace is what net/http/httptrace showed of the connection one request
// went out on: whether the request itself connected or shook hands
// (ConnectStart, TLSHandshakeStart), and the connection it got (GotConn).
type connTrace struct {
	mu      sync.Mutex
	start   time.Time // when the request was handed to the transport
	dialed  bool      // the request connected or shook hands itself
	got     bool      // GotConn fired
	conn    net.Conn
	reused  bool
	proto   string // the response's protocol, once it arrived
	started bool
	sent    time.Time // when a held request was released (see WithHold)
}

// released notes when a held request was let go.
func (t *connTrace) released(at time.Time) {
	t.mu.Lock()
	t.sent = at
	t.mu.Unlock()
}

// sentAt returns when a held request was let go, or sent when it was not
// held: the instant the request really started.
func (t *connTrace) sentAt(sent time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sent.IsZero() {
		return sent
	}
	return t.sent
}

// with returns ctx with a client trace that records into t (and passes
// every event on to a trace already in ctx).
func (t *connTrace) with(ctx context.Context) context.Context {
	t.mu.Lock()
	if !t.started {
		t.started = true
		t.start = time.Now()
	}
	t.mu.Unlock()
	dialed := func() {
		t.mu.Lock()
		t.dialed = true
		t.mu.Unlock()
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectStart:      func(string, string) { dialed() },
		TLSHandshakeStart: dialed,
		GotConn: func(info httptrace.GotConnInfo) {
			t.mu.Lock()
			t.got = true
			t.conn = info.Conn
			t.reused = info.Reused
			t.mu.Unlock()
		},
	})
}

// gotResponse notes the protocol of the response.
func (t *connTrace) gotResponse(proto string) {
	t.mu.Lock()
	t.proto = proto
	t.mu.Unlock()
}

// fill sets the record's protocol, connection_warm and connection from the
// trace. A request was sent on a warm connection when it neither connected
// nor shook hands itself and the connection it got had carried a request
// before (GotConn's Reused) or was opened ahead by pool and ready before
// the request started. A request that never got a connection is cold.
func (t *connTrace) fill(rec *record.Request, pool *ConnPool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		return
	}
	warm := false
	if t.got && !t.dialed {
		// A held request started when it was let go (WithHold).
		start := t.start
		if !t.sent.IsZero() {
			start = t.sent
		}
		info, ahead := pool.info(t.conn)
		warm = t.reused || (ahead && !info.readyAt.After(start))
	}
	rec.ConnectionWarm = &warm
	rec.Protocol = t.proto
	if t.conn != nil {
		if rec.Protocol == "" {
			rec.Protocol = connProto(t.conn, pool)
		}
		if a := t.conn.LocalAddr(); a != nil {
			rec.Connection = a.String()
		}
	}
}

// connProto is the protocol spoken on c, when no response said it.
func connProto(c net.Conn, pool *ConnPool) string {
	if info, ok := pool.info(c); ok {
		return info.proto
	}
	if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
		return "HTTP/2.0"
	}
	return "HTTP/1.1"
}

// SentAt returns when the request really started: when it was let go, for a
// request held until its send instant (see WithHold), and sent otherwise.
func (c *Capture) SentAt(sent time.Time) time.Time { return c.conn.sentAt(sent) }

// FillConnection sets rec's protocol, connection_warm and connection from
// what the request's trace showed (see connTrace.fill); pool is the
// connection pool of the request's client, if any.
func (c *Capture) FillConnection(rec *record.Request, pool *ConnPool) { c.conn.fill(rec, pool) }
