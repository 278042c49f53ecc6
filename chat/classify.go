package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
)

// classifyFailure returns the kind of a request that go-openai reports as
// failed with err, given the request's context and what the transport saw.
// status is the response's status, if any (0 when none arrived).
func classifyFailure(ctx context.Context, err error, c *measure.Capture, status int) string {
	switch c.CutCause() {
	case measure.ErrSlowHeaders:
		return record.ErrorKindSlowHeaders
	case measure.ErrStreamStalled:
		return record.ErrorKindStreamStalled
	case measure.ErrRedirect:
		return record.ErrorKindRedirect
	case measure.ErrResponseTooLarge:
		return record.ErrorKindResponseTooLarge
	}
	if s := errorStatus(err); s != 0 {
		status = s
	}
	if k := record.StatusKind(status); k != "" {
		return k
	}
	if k := contextKind(ctx); k != "" {
		return k
	}
	bodyErr, bodyEnded := c.BodyOutcome()
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

// errorStatus is the HTTP status that a go-openai error carries, 0 when
// none.
func errorStatus(err error) int {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0:
		return apiErr.HTTPStatusCode
	case errors.As(err, &reqErr) && reqErr.HTTPStatusCode != 0:
		return reqErr.HTTPStatusCode
	}
	return 0
}

// describeError turns a client error into one readable line.
func describeError(ctx context.Context, err error, timeout time.Duration) string {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		msg := strings.TrimSpace(apiErr.Message)
		if apiErr.HTTPStatusCode != 0 {
			return fmt.Sprintf("HTTP %d: %s", apiErr.HTTPStatusCode, msg)
		}
		return msg
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) && reqErr.HTTPStatusCode != 0 {
		// Not cut here: the transport bounded the body (ErrorBodyLimit),
		// and the error is cut once the key is redacted (see fail).
		body := strings.TrimSpace(string(reqErr.Body))
		if body == "" {
			return fmt.Sprintf("HTTP %d %s", reqErr.HTTPStatusCode, http.StatusText(reqErr.HTTPStatusCode))
		}
		return fmt.Sprintf("HTTP %d: %s", reqErr.HTTPStatusCode, body)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within the request timeout (%s)", timeout)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return "cancelled before the answer arrived"
	}
	return err.Error()
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
