package activities

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Error kinds: what went wrong with a failed request, as a stable string
// for scripts (error_kind in the JSON). A record gets one where its failure
// is recorded, from typed errors and from what CaptureTransport saw of the
// exchange, never from the wording of an error.
const (
	// ErrorKindTimeout: no complete answer within the request timeout, the
	// response headers included for a non-streamed request, or after the
	// headers had arrived.
	ErrorKindTimeout = "timeout"
	// ErrorKindHTTP5xx: a 5xx answer (500, 502, 503, ...).
	ErrorKindHTTP5xx = "http_5xx"
	// ErrorKindRateLimited: a 429 answer.
	ErrorKindRateLimited = "rate_limited"
	// ErrorKindHTTP4xx: any other 4xx answer (400, 401, 403, 404, ...).
	ErrorKindHTTP4xx = "http_4xx"
	// ErrorKindConnectionDropped: the connection was closed or reset before
	// the response was complete (non-streamed), or before any response.
	ErrorKindConnectionDropped = "connection_dropped"
	// ErrorKindStreamStalled: a streamed response stopped sending for the
	// stall bound (see StallBound) after its headers.
	ErrorKindStreamStalled = "stream_stalled"
	// ErrorKindStreamTruncated: a streamed response ended (its connection
	// closed, or its body ended) without its finish_reason and
	// "data: [DONE]".
	ErrorKindStreamTruncated = "stream_truncated"
	// ErrorKindMalformedResponse: a 2xx answer whose body is not a chat
	// completion: not JSON, no choices, an undecodable chunk, or no event
	// stream at all for a streamed request.
	ErrorKindMalformedResponse = "malformed_response"
	// ErrorKindSlowHeaders: the response headers did not arrive within the
	// header bound (see HeaderBound), which a streamed request has.
	ErrorKindSlowHeaders = "slow_headers"
	// ErrorKindCancelled: the request was cancelled (the activity was
	// cancelled or its worker stopped) before its answer.
	ErrorKindCancelled = "cancelled"
	// ErrorKindRedirect: a 3xx answer. The worker never follows a redirect
	// (the key and the prompt would go with it); the error names the target
	// by scheme, host and path only.
	ErrorKindRedirect = "redirect"
	// ErrorKindResponseTooLarge: a successful response, or one line of a
	// stream, passed its bound (see ResponseBound, LineLimit); it was read
	// no further and its connection was closed.
	ErrorKindResponseTooLarge = "response_too_large"
	// ErrorKindOther: anything else, such as a refused connection or an
	// error event inside a stream.
	ErrorKindOther = "other"
	// ErrorKindNotSent is never set on a record by this package: it is what
	// ErrorKindOf says of a failed record that has no send time (a request
	// not sent because the run's -timeout had passed, or whose batch could
	// not run).
	ErrorKindNotSent = "not_sent"
)

// ErrorKindOf returns the error kind of a record: "" for a success, its
// error_kind when it has one, and otherwise (a record made outside this
// package, or before error kinds existed) one derived from what it says:
// not_sent without a send time, the HTTP status's kind, else other.
func ErrorKindOf(r RequestRecord) string {
	switch {
	case r.OK:
		return ""
	case r.ErrorKind != "":
		return r.ErrorKind
	case r.SentAt == "":
		return ErrorKindNotSent
	}
	if k := statusKind(r.HTTPStatus); k != "" {
		return k
	}
	return ErrorKindOther
}

// statusKind is the kind of an error status, or "" for none.
func statusKind(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return ErrorKindRateLimited
	case status >= 500 && status <= 599:
		return ErrorKindHTTP5xx
	case status >= 400 && status <= 499:
		return ErrorKindHTTP4xx
	}
	return ""
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
	errSlowHeaders   = errors.New("no response headers within the header bound")
	errStreamStalled = errors.New("the stream sent nothing within the stall bound")
)

// classifyFailure returns the kind of a request that go-openai reports as
// failed with err, given the request's context and what the transport saw.
// status is the response's status, if any (0 when none arrived).
func classifyFailure(ctx context.Context, err error, c *Capture, status int) string {
	switch c.cutCause() {
	case errSlowHeaders:
		return ErrorKindSlowHeaders
	case errStreamStalled:
		return ErrorKindStreamStalled
	case errRedirect:
		return ErrorKindRedirect
	case errResponseTooLarge:
		return ErrorKindResponseTooLarge
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0:
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr) && reqErr.HTTPStatusCode != 0:
		status = reqErr.HTTPStatusCode
	}
	if k := statusKind(status); k != "" {
		return k
	}
	if k := contextKind(ctx); k != "" {
		return k
	}
	bodyErr, bodyEnded := c.bodyOutcome()
	switch {
	case status >= 200 && status <= 299 && bodyEnded && bodyErr == nil:
		// The whole body arrived, and go-openai could not decode it.
		return ErrorKindMalformedResponse
	case isConnectionDrop(err) || (bodyErr != nil && isConnectionDrop(bodyErr)):
		return ErrorKindConnectionDropped
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
		return ErrorKindMalformedResponse
	}
	return ErrorKindOther
}

// contextKind is the kind of a request whose own context ended: timeout or
// cancelled; "" while it has not.
func contextKind(ctx context.Context) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ErrorKindTimeout
	case errors.Is(ctx.Err(), context.Canceled):
		return ErrorKindCancelled
	}
	return ""
}

// isConnectionDrop reports whether err says that the connection closed or
// was reset under the request.
func isConnectionDrop(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}
