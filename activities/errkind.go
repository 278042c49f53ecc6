package activities

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/record"
)

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
		return record.ErrorKindSlowHeaders
	case errStreamStalled:
		return record.ErrorKindStreamStalled
	case errRedirect:
		return record.ErrorKindRedirect
	case errResponseTooLarge:
		return record.ErrorKindResponseTooLarge
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0:
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr) && reqErr.HTTPStatusCode != 0:
		status = reqErr.HTTPStatusCode
	}
	if k := record.StatusKind(status); k != "" {
		return k
	}
	if k := contextKind(ctx); k != "" {
		return k
	}
	bodyErr, bodyEnded := c.bodyOutcome()
	switch {
	case status >= 200 && status <= 299 && bodyEnded && bodyErr == nil:
		// The whole body arrived, and go-openai could not decode it.
		return record.ErrorKindMalformedResponse
	case isConnectionDrop(err) || (bodyErr != nil && isConnectionDrop(bodyErr)):
		return record.ErrorKindConnectionDropped
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
		return record.ErrorKindMalformedResponse
	}
	return record.ErrorKindOther
}

// contextKind is the kind of a request whose own context ended: timeout or
// cancelled; "" while it has not.
func contextKind(ctx context.Context) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return record.ErrorKindTimeout
	case errors.Is(ctx.Err(), context.Canceled):
		return record.ErrorKindCancelled
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
