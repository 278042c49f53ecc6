package measure

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
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
// (ErrSlowHeaders, ErrStreamStalled, ErrRedirect or ErrResponseTooLarge),
// or nil.
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
