package record

import (
	"net/http"
	"strconv"
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
	// stall bound (see measure.StallBound) after its headers.
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
	// stream, passed its bound (see measure.ResponseBound, measure.LineLimit); it was read
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
func ErrorKindOf(r Request) string {
	switch {
	case r.OK:
		return ""
	case r.ErrorKind != "":
		return r.ErrorKind
	case !r.WasSent():
		return ErrorKindNotSent
	}
	if k := StatusKind(r.HTTPStatus); k != "" {
		return k
	}
	return ErrorKindOther
}

// StatusKind is the kind of an error status, or "" for none.
func StatusKind(status int) string {
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

// IsFatalStatus reports whether an HTTP status ends a run early.
func IsFatalStatus(status int) bool {
	switch status {
	case 400, 401, 403, 404:
		return true
	}
	return false
}

// FatalReason explains in one line why a fatal status ends the run, and how
// to fix it.
func FatalReason(r Request) string {
	switch r.HTTPStatus {
	case 401, 403:
		return "the endpoint rejected the API key (HTTP " + strconv.Itoa(r.HTTPStatus) + "): check OPENAI_API_KEY in the worker's environment (for an allow-listed endpoint, the variable its key_env names)"
	case 404:
		return "the endpoint does not know model \"" + r.Model + "\" (HTTP 404): pick another with -model, or check the endpoint's base URL in the worker's environment (OPENAI_BASE_URL or its base_url: an OpenAI-style URL usually ends in /v1; for an Azure entry, -model is the deployment name)"
	case 400:
		return "the endpoint refused the request as malformed (HTTP 400): " + r.Error
	}
	return ""
}
