package measure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode"
)

// Capture receives the HTTP status and headers of the response to one request.
// go-openai does not expose them for every outcome, so a RoundTripper records
// them (see CaptureTransport).
type Capture struct {
	// TimeEvents, set before the request is sent, makes CaptureTransport
	// note the arrival of every server-sent event ("data:" line) of the
	// response body: see Events.
	TimeEvents bool
	// HeaderTimeout, when positive, bounds the wait for the response
	// headers: CaptureTransport then cuts the request short, and the
	// failure is slow_headers (see HeaderBound).
	HeaderTimeout time.Duration
	// StallTimeout, when positive, bounds the time the response body may
	// send nothing, from the headers on: CaptureTransport then cuts the
	// request short, and the failure is stream_stalled (see StallBound).
	StallTimeout time.Duration
	// BodyLimit bounds a successful response body, and LineLimit each of
	// its lines (0: none); an error body is bounded by ErrorBodyLimit. See
	// bound.go.
	BodyLimit, LineLimit int64

	mu     sync.Mutex
	status int
	header http.Header
	body   *eventClock
	// headersIn is set once the response headers arrived.
	headersIn bool
	// cut is why CaptureTransport cut the request short (ErrSlowHeaders,
	// ErrStreamStalled, ErrRedirect, ErrResponseTooLarge), or nil.
	cut error
	// bodyErr is the first error other than io.EOF that a read of the
	// response body returned; bodyEnded is set once a read returned io.EOF.
	bodyErr   error
	bodyEnded bool
	// redirect is the target of a refused redirect; bodyCut is set when an
	// error body was cut at ErrorBodyLimit (see bound.go).
	redirect string
	bodyCut  bool
	// conn is what httptrace showed of the request's connection.
	conn connTrace
}

// Event is one "data:" line of a server-sent event stream, as it arrived.
type Event struct {
	// At is when the line's last byte arrived: the instant the body Read
	// that delivered it returned (monotonic clock reading included).
	At time.Time
	// Done is set for the "data: [DONE]" line that ends an OpenAI stream.
	Done bool
	// Error is set for a line that go-openai's reader takes for an error
	// event: its payload starts with {"error":.
	Error bool
	// Payload is, for an error line only, its payload (what follows
	// "data:"), cut at MaxEventPayload bytes (4 KiB).
	Payload string
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

// Events returns the "data:" lines of the response body read so far, in
// order (nil unless TimeEvents was set). The k-th line whose payload
// go-openai's stream reader hands out (ChatCompletionStream.RecvRaw) is
// Events()[k]: both split the body at '\n', trim the line's white space and
// keep the lines that start with "data:".
func (c *Capture) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body == nil {
		return nil
	}
	return c.body.snapshot()
}

// Event returns Events()[k] without copying them all, and false when
// there is no such line (yet).
func (c *Capture) Event(k int) (Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body == nil {
		return Event{}, false
	}
	return c.body.event(k)
}

// DrainBody reads what is left of the timed response body, up to limit
// bytes, and reports whether it reached its end. A stream whose reader
// stopped at "data: [DONE]" has usually only the end of its chunked
// encoding left; reading it lets the transport reuse the connection
// (closing a body before its end closes an HTTP/1 connection).
func (c *Capture) DrainBody(limit int64) bool {
	c.mu.Lock()
	b := c.body
	c.mu.Unlock()
	if b == nil {
		return false
	}
	_, err := io.CopyN(io.Discard, b, limit)
	return errors.Is(err, io.EOF)
}

// CutCause returns why CaptureTransport cut the request short
// (ErrSlowHeaders or ErrStreamStalled), or nil.
func (c *Capture) CutCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut
}

// BodyOutcome returns the first read error of the response body other than
// io.EOF, and whether the body was read to its end.
func (c *Capture) BodyOutcome() (err error, ended bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bodyErr, c.bodyEnded
}

// cutShort records cause as the reason the request was cut short, unless
// it already has one or ok (called under the lock) says no; it reports
// whether it did.
func (c *Capture) cutShort(cause error, ok func() bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut != nil || !ok() {
		return false
	}
	c.cut = cause
	return true
}

type captureKey struct{}

// WithCapture returns a context whose HTTP responses are recorded into c.
func WithCapture(ctx context.Context, c *Capture) context.Context {
	return context.WithValue(ctx, captureKey{}, c)
}

// CaptureTransport is an http.RoundTripper that records each response's
// status and headers into the Capture of the request's context, if any, and
// enforces its bounds: HeaderTimeout on the wait for the headers,
// StallTimeout on the silences of the body. A request that overruns one is
// cut short (its context is cancelled with ErrSlowHeaders or
// ErrStreamStalled as the cause), and the Capture says why.
type CaptureTransport struct {
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t CaptureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	c, ok := req.Context().Value(captureKey{}).(*Capture)
	if !ok {
		return base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(c.conn.with(req.Context()))
	var headerTimer *time.Timer
	if c.HeaderTimeout > 0 {
		// A held request's bound starts when it is let go (WithHold).
		headerTimer = time.AfterFunc(c.HeaderTimeout+holdLeft(req.Context()), func() {
			if c.cutShort(ErrSlowHeaders, func() bool { return !c.headersIn }) {
				cancel(ErrSlowHeaders)
			}
		})
	}
	resp, err := base.RoundTrip(req.WithContext(ctx))
	if headerTimer != nil {
		headerTimer.Stop()
	}
	if resp == nil {
		cancel(nil)
		return resp, err
	}
	c.conn.gotResponse(resp.Proto)
	if rerr := c.refuseRedirect(req, resp); rerr != nil {
		cancel(rerr)
		return nil, rerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headersIn = true
	c.status = resp.StatusCode
	c.header = resp.Header.Clone()
	if resp.Body != nil {
		w := &watchedBody{rc: c.bound(resp.StatusCode, resp.Body, cancel), c: c, cancel: cancel, stall: c.StallTimeout, last: time.Now()}
		if w.stall > 0 {
			w.mu.Lock() // checkStall reads w.timer
			w.timer = time.AfterFunc(w.stall, w.checkStall)
			w.mu.Unlock()
		}
		resp.Body = w
		if c.TimeEvents {
			c.body = &eventClock{rc: w}
			resp.Body = c.body
		}
	} else {
		cancel(nil)
	}
	return resp, err
}

// watchedBody passes a response body through, notes into its Capture how
// reading it ended, cuts the request short when the body sends nothing for
// stall, and releases the request's context when closed.
type watchedBody struct {
	rc     io.ReadCloser
	c      *Capture
	cancel context.CancelCauseFunc
	stall  time.Duration

	mu    sync.Mutex
	last  time.Time   // when the last bytes arrived (the headers, at first)
	timer *time.Timer // nil without a stall bound
	over  bool        // read to its end, failed or closed
}

func (w *watchedBody) Read(p []byte) (int, error) {
	n, err := w.rc.Read(p)
	if n == 0 && err == nil {
		return n, err
	}
	w.mu.Lock()
	if n > 0 {
		w.last = time.Now()
	}
	if err != nil {
		w.stop()
	}
	w.mu.Unlock()
	if err != nil {
		w.c.mu.Lock()
		if errors.Is(err, io.EOF) {
			w.c.bodyEnded = true
		} else if w.c.bodyErr == nil {
			w.c.bodyErr = err
		}
		w.c.mu.Unlock()
	}
	return n, err
}

// checkStall runs when the stall bound may have passed since the last
// bytes: it cuts the request short if it has, and otherwise waits for the
// rest of the bound.
func (w *watchedBody) checkStall() {
	w.mu.Lock()
	if w.over {
		w.mu.Unlock()
		return
	}
	if idle := time.Since(w.last); idle < w.stall {
		w.timer.Reset(w.stall - idle)
		w.mu.Unlock()
		return
	}
	w.stop()
	w.mu.Unlock()
	if w.c.cutShort(ErrStreamStalled, func() bool { return true }) {
		w.cancel(ErrStreamStalled)
	}
}

// stop ends the stall watch. Callers hold w.mu.
func (w *watchedBody) stop() {
	w.over = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchedBody) Close() error {
	w.mu.Lock()
	w.stop()
	w.mu.Unlock()
	err := w.rc.Close()
	w.cancel(nil)
	return err
}

// MaxEventPayload is how much of a line eventClock keeps: enough to classify
// any line, and to keep a whole error event (see Event.Payload).
const MaxEventPayload = 4 << 10

// eventClock passes a response body through unchanged and notes, for each
// "data:" line, the instant its last byte came out of the underlying body.
//
// Its Read runs in the goroutine that reads the stream, when go-openai's
// bufio.Reader needs more bytes, that is when every line already read has
// been handed out: the reader is then blocked in Read until the next bytes
// arrive, and the time taken as Read returns is their arrival time. Lines
// that arrive together (one Read) get the same time, which is also what
// happened. The lags: while the reader parses the previous chunk
// (microseconds), new bytes wait in the socket; and bytes that came in with
// the response headers (servers such as vLLM and the simulator send the
// headers with the first token) are read by the transport with them, and
// timed when the response has been handed over to the reader, one goroutine
// hand-off later.
type eventClock struct {
	rc io.ReadCloser

	mu     sync.Mutex
	head   []byte // the current line's first bytes (at most MaxEventPayload)
	long   bool   // the current line is longer than head
	events []Event
}

func (b *eventClock) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 || err != nil {
		now := time.Now()
		b.mu.Lock()
		b.scan(p[:n], now)
		if errors.Is(err, io.EOF) && (len(b.head) > 0 || b.long) {
			// A last line without its newline: the body ended it.
			b.endLine(now)
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *eventClock) Close() error { return b.rc.Close() }

// scan splits p into lines. Callers hold b.mu.
func (b *eventClock) scan(p []byte, now time.Time) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i]
		}
		if room := MaxEventPayload - len(b.head); room >= len(part) {
			b.head = append(b.head, part...)
		} else {
			b.head = append(b.head, part[:room]...)
			b.long = true
		}
		if i < 0 {
			return
		}
		b.endLine(now)
		p = p[i+1:]
	}
}

// endLine classifies the current line as go-openai's stream reader does:
// white space trimmed, then a "data:" prefix; "[DONE]" after the prefix
// and any white space ends the stream. (Unlike the reader it only looks at
// a line's first MaxEventPayload bytes: a line of more white space than that
// before "data:" would be missed.) Callers hold b.mu.
func (b *eventClock) endLine(now time.Time) {
	line := bytes.TrimLeftFunc(b.head, unicode.IsSpace)
	if payload, ok := bytes.CutPrefix(line, []byte("data:")); ok {
		// The reader's pattern is `^data:\s*`, and RE2's \s is ASCII.
		payload = bytes.TrimRightFunc(bytes.TrimLeft(payload, " \t\n\f\r"), unicode.IsSpace)
		ev := Event{At: now, Done: !b.long && string(payload) == "[DONE]"}
		if bytes.HasPrefix(payload, []byte(`{"error":`)) {
			ev.Error = true
			ev.Payload = string(payload)
		}
		b.events = append(b.events, ev)
	}
	b.head = b.head[:0]
	b.long = false
}

func (b *eventClock) snapshot() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.events...)
}

func (b *eventClock) event(k int) (Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if k < 0 || k >= len(b.events) {
		return Event{}, false
	}
	return b.events[k], true
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
