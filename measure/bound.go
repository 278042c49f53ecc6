package measure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"time"
)

// What an endpoint may send is bounded here, in the HTTP transport, before
// go-openai (which reads an error body whole with io.ReadAll, and an SSE line
// whole with ReadBytes) sees a byte: CaptureTransport refuses redirects and
// wraps each response body in a boundedBody.

// Bounds on what a response may be.
const (
	// ErrorBodyLimit bounds the body of an answer that is not a success
	// (a status outside 2xx): the record keeps its status, and its error
	// the first ErrorBodyLimit bytes of the body; the rest is never read
	// (the connection is closed).
	ErrorBodyLimit = 8 << 10
	// LineLimit bounds one line of a streamed (SSE) response.
	LineLimit = 256 << 10
	// MaxHeaderBytes bounds a response's headers (Go's default is 10 MiB
	// per response); OpenAI's take about 2 KiB.
	MaxHeaderBytes = 64 << 10
	// responseBase is the part of a success body's bound that does not
	// depend on max_tokens: the JSON around the text, and room for a server
	// that counts tokens differently.
	responseBase = 256 << 10
	// bytesPerToken and bytesPerStreamedToken are the bytes allowed per
	// token of max_tokens: a token of up to 16 characters, each escaped in
	// JSON as \uXXXX (96), or one SSE chunk per token with its JSON
	// envelope (1 KiB).
	bytesPerToken         = 96
	bytesPerStreamedToken = 1 << 10
)

// ResponseBound is the most a successful response body may hold for a
// request of maxTokens tokens: 256 KiB plus 96 bytes per token, streamed
// 256 KiB plus 1 KiB per token (each chunk carries its JSON envelope).
// Past it the request fails as response_too_large. (Saturating: any
// maxTokens gives a bound.)
func ResponseBound(maxTokens int, stream bool) int64 {
	per := int64(bytesPerToken)
	if stream {
		per = bytesPerStreamedToken
	}
	t := int64(max(maxTokens, 0))
	if t > (math.MaxInt64-responseBase)/per {
		return math.MaxInt64
	}
	return responseBase + t*per
}

// HeaderBound is how long a request waits for its response headers before
// it fails as slow_headers, given the request timeout: half of it for a
// streamed request, whose headers an OpenAI-compatible server sends when the
// stream starts. A non-streamed response's headers come with the whole
// answer, so it has no bound of its own (0): the request timeout covers it.
func HeaderBound(requestTimeout time.Duration, stream bool) time.Duration {
	if !stream {
		return 0
	}
	return requestTimeout / 2
}

// StallBound is how long a streamed response may send nothing after its
// headers, or between two reads, before it fails as stream_stalled: half of
// the request timeout, so that a stream that stops ends before the request
// timeout would end it. Non-streamed requests have none (0).
func StallBound(requestTimeout time.Duration, stream bool) time.Duration {
	if !stream {
		return 0
	}
	return requestTimeout / 2
}

// Causes of a request that CaptureTransport cut short, given to the
// request's context (context.Cause) and remembered by its Capture.
var (
	ErrSlowHeaders   = errors.New("no response headers within the header bound")
	ErrStreamStalled = errors.New("the stream sent nothing within the stall bound")
)

// ErrResponseTooLarge is why CaptureTransport cut a request whose response
// passed its bound; ErrRedirect, one that answered with a redirect.
var (
	ErrResponseTooLarge = errors.New("the response passed its size bound")
	ErrRedirect         = errors.New("redirect refused: the worker never follows a redirect")
)

// isRedirect reports whether status asks the client to go elsewhere.
func isRedirect(status int) bool { return status >= 300 && status <= 399 }

// noRedirects is the HTTP client's CheckRedirect: the worker never follows a
// redirect, so that neither the key (which Go's client forwards to the same
// host on any port or scheme) nor the prompt goes to a URL that the worker's
// allow-list does not name. CaptureTransport turns a 3xx into a failed
// request before the client sees it; this covers requests without a Capture.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// refuseRedirect fails a request answered with a 3xx: it closes the body,
// records the status, headers and the redirect's target (scheme, host and
// path only: a query could carry anything) and returns the error the
// request fails with; nil for any other status.
func (c *Capture) refuseRedirect(req *http.Request, resp *http.Response) error {
	if !isRedirect(resp.StatusCode) {
		return nil
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headersIn = true
	c.status = resp.StatusCode
	c.header = resp.Header.Clone()
	c.redirect = SafeLocation(req.URL, resp.Header.Get("Location"))
	if c.cut == nil {
		c.cut = ErrRedirect
	}
	return ErrRedirect
}

// Redirect returns the target of a refused redirect (scheme, host and path),
// "" when none.
func (c *Capture) Redirect() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.redirect
}

// ErrorBodyCut reports whether an error body was cut at ErrorBodyLimit.
func (c *Capture) ErrorBodyCut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bodyCut
}

// SafeLocation resolves a Location header against the request's URL and
// returns its scheme, host and path only (no user, query or fragment, which
// could carry anything); "(none)" when there is none, "(unparsable)" when it
// does not parse.
func SafeLocation(base *url.URL, loc string) string {
	if loc == "" {
		return "(none)"
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(unparsable)"
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// bound wraps the body of a response of status in a boundedBody: an error
// body is cut at ErrorBodyLimit; a success body fails past c.BodyLimit, and
// a line of it past c.LineLimit, cutting the request short (cancel) so that
// its connection closes. Callers hold c.mu.
func (c *Capture) bound(status int, rc io.ReadCloser, cancel context.CancelCauseFunc) io.ReadCloser {
	b := &boundedBody{rc: rc}
	if status < 200 || status > 299 {
		b.left, b.truncate = ErrorBodyLimit, true
		b.over = func() {
			c.mu.Lock()
			c.bodyCut = true
			c.mu.Unlock()
		}
		return b
	}
	b.left, b.lineLimit = c.BodyLimit, c.LineLimit
	if b.left <= 0 {
		b.left = math.MaxInt64
	}
	b.over = func() {
		if c.cutShort(ErrResponseTooLarge, func() bool { return true }) {
			cancel(ErrResponseTooLarge)
		}
	}
	return b
}

// boundedBody passes a response body through up to left bytes, and lines
// (when lineLimit > 0) of up to lineLimit bytes. Past a bound it calls over
// once, and then either ends (truncate: io.EOF, as if the body ended there)
// or fails every read with ErrResponseTooLarge.
type boundedBody struct {
	rc        io.ReadCloser
	left      int64
	lineLimit int64
	line      int64 // bytes since the last '\n'
	truncate  bool
	over      func()
	err       error
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed, to tell a body that ends at the
	// bound from one that goes past it.
	if int64(len(p)) > b.left {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		return n, b.pass()
	}
	b.left -= int64(n)
	if b.lineLimit > 0 {
		for data := p[:n]; ; {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				b.line += int64(len(data))
				break
			}
			if b.line+int64(i) > b.lineLimit {
				return 0, b.pass()
			}
			b.line, data = 0, data[i+1:]
		}
		if b.line > b.lineLimit {
			return 0, b.pass()
		}
	}
	return n, err
}

// pass handles a bound passed: the error every later read returns.
func (b *boundedBody) pass() error {
	if b.truncate {
		b.err = io.EOF
	} else {
		b.err = ErrResponseTooLarge
	}
	if b.over != nil {
		b.over()
		b.over = nil
	}
	return b.err
}

func (b *boundedBody) Close() error { return b.rc.Close() }

// TooLargeMessage is the error of a request whose response passed its
// bound.
func (c *Capture) TooLargeMessage() string {
	line := ""
	if c.LineLimit > 0 {
		line = fmt.Sprintf(", or %s in one line", sizeString(c.LineLimit))
	}
	return fmt.Sprintf("the response passed its bound (%s for this -max-tokens%s) and was read no further; its connection was closed",
		sizeString(c.BodyLimit), line)
}

// sizeString writes n bytes in KiB or MiB.
func sizeString(n int64) string {
	switch {
	case n <= 0:
		return "no bound"
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
