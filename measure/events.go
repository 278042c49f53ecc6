package measure

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"
	"unicode"
)

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
