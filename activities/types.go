// Package activities holds the one activity of the tool: timed chat-completion
// calls through github.com/sashabaranov/go-openai against the endpoint that the
// worker was configured with. The API key and the base URL live in the
// Activities struct (worker-side), never in an activity's input or result.
package activities

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Pass names.
const (
	PassSequential = "sequential"
	PassConcurrent = "concurrent"
)

// DefaultEndpoint is the name of the endpoint that a worker configures with
// OPENAI_API_KEY and OPENAI_BASE_URL, and that a run uses unless it names
// another.
const DefaultEndpoint = "default"

// UnknownEndpointErrorType is the ApplicationError type of an activity asked
// for an endpoint that its worker does not serve. It is not retryable.
const UnknownEndpointErrorType = "UnknownEndpoint"

// MaxEndpointNameLen bounds an endpoint's name.
const MaxEndpointNameLen = 32

var endpointName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// CheckEndpointName checks that name can name an endpoint: 1 to 32 lowercase
// letters, digits, '.', '_' or '-', starting with a letter or a digit. The
// error does not repeat the name.
func CheckEndpointName(name string) error {
	if len(name) > MaxEndpointNameLen || !endpointName.MatchString(name) {
		return fmt.Errorf("an endpoint name is 1 to %d lowercase letters, digits, '.', '_' or '-', starting with a letter or a digit", MaxEndpointNameLen)
	}
	return nil
}

// DescribeInput is the input of Activities.DescribeEndpoint: the name of the
// endpoint, never its URL ("" means DefaultEndpoint).
type DescribeInput struct {
	Endpoint string `json:"endpoint,omitempty"`
}

// RequestSpec is one request of a batch: its index in the run and its prompt.
type RequestSpec struct {
	Index  int    `json:"index"`
	Prompt string `json:"prompt"`
}

// SendInput is the input of Activities.Send: a batch of requests of one pass.
// The sequential pass sends batches of one, chained by the workflow. The
// concurrent pass sends shards that all wait for the common instant FireAt and
// then keep Concurrency requests in flight.
type SendInput struct {
	// Endpoint names one of the endpoints the worker serves ("" means
	// DefaultEndpoint). A run chooses among them and never names a URL.
	Endpoint    string        `json:"endpoint,omitempty"`
	Pass        string        `json:"pass"`
	Requests    []RequestSpec `json:"requests"`
	Model       string        `json:"model"`
	MaxTokens   int           `json:"max_tokens"`
	Concurrency int           `json:"concurrency"`
	// FireAt is the instant at which the first requests are sent. Zero means
	// at once. An activity that starts after FireAt sends at once, and the
	// lateness shows in each record's dispatch_delay_seconds.
	FireAt time.Time `json:"fire_at"`
	// RequestTimeout bounds each request.
	RequestTimeout time.Duration `json:"request_timeout"`
	// StopOnFatal makes the batch stop sending once a response says that the
	// rest is pointless (401, 403, 404, 400).
	StopOnFatal bool `json:"stop_on_fatal"`
	// Stream asks for streamed responses (SSE) and per-chunk timing.
	Stream bool `json:"stream"`
	// Attempt numbers the requests' try when the workflow resends them
	// (-retry backoff); 0 means the first.
	Attempt int32 `json:"attempt,omitempty"`
}

// SendOutput is the result of Activities.Send: one record per request, in the
// order in which the responses arrived. Requests not sent because an earlier
// one was fatal are absent.
type SendOutput struct {
	Records []RequestRecord `json:"records"`
}

// RequestRecord is everything measured about one request.
type RequestRecord struct {
	Index          int     `json:"index"`
	Pass           string  `json:"pass"`
	Prompt         string  `json:"prompt"`
	SentAt         string  `json:"sent_at"`
	ReceivedAt     string  `json:"received_at"`
	LatencySeconds float64 `json:"latency_seconds"`
	OK             bool    `json:"ok"`
	HTTPStatus     int     `json:"http_status"`
	Error          string  `json:"error"`
	// ErrorKind classifies a failure (timeout, http_5xx, rate_limited,
	// http_4xx, connection_dropped, stream_stalled, stream_truncated,
	// malformed_response, slow_headers, cancelled, other; see the
	// ErrorKind constants). Empty on success.
	ErrorKind        string `json:"error_kind,omitempty"`
	Attempt          int32  `json:"attempt"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
	Model            string `json:"model"`
	Response         string `json:"response"`
	// ResponseTruncated is set when Response was cut to keep the batch's
	// result within Temporal's payload limit (a response far longer than
	// max_tokens allows, from an endpoint that ignores it): the rest of the
	// record is whole.
	ResponseTruncated bool `json:"response_truncated,omitempty"`
	// DispatchDelaySeconds is, for a request of the concurrent pass, how long
	// after the pass's common send instant it was actually sent (waiting for
	// a free concurrency slot included).
	DispatchDelaySeconds float64 `json:"dispatch_delay_seconds"`

	// Stream is set when the response was streamed (SSE).
	Stream bool `json:"stream"`
	// TTFTSeconds is the first content chunk's arrival minus the send
	// (streamed requests only).
	TTFTSeconds *float64 `json:"ttft_seconds,omitempty"`
	// TPOTSeconds is (latency - TTFT) / (output tokens - 1), vLLM's
	// definition (streamed requests with at least 2 output tokens).
	TPOTSeconds *float64 `json:"tpot_seconds,omitempty"`
	// ChunkGapsSeconds are the gaps between consecutive content chunks.
	ChunkGapsSeconds []float64 `json:"chunk_gaps_seconds,omitempty"`
	// OutputTokensPerSecond is completion tokens / latency.
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	// TokensEstimated is set when the server sent no usage and the
	// completion tokens were counted from the content chunks.
	TokensEstimated bool `json:"tokens_estimated,omitempty"`
	// RateLimit holds the x-ratelimit-* headers of the response, if any.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	// RetryAfterSeconds is the Retry-After header of a 429 (or 503).
	RetryAfterSeconds *float64 `json:"retry_after_seconds,omitempty"`
	// Attempts, for a request sent more than once (-retry backoff), lists
	// every try in order, this one last; the record's other fields are the
	// last try's.
	Attempts []AttemptRecord `json:"attempts,omitempty"`
	// TotalLatencySeconds, for a request sent more than once, runs from the
	// first try's send to the final answer, waits included.
	TotalLatencySeconds float64 `json:"total_latency_seconds,omitempty"`

	// Attempt (above) numbers the request's try: 1, or 2, 3… for the
	// workflow's resends with -retry backoff.

	// ActivityAttempt is Temporal's attempt of the batch activity that sent
	// the request: 1, unless the worker running the batch was lost and
	// Temporal retried the batch on another worker (see Activities.Send).
	ActivityAttempt int32 `json:"activity_attempt"`
	// Resent is set when a lost attempt of the batch had already sent the
	// request without its answer being recorded: the endpoint saw it more
	// than once, and this record is the answer to the last send.
	Resent bool `json:"resent,omitempty"`

	// Protocol is the HTTP version the request went out on: "HTTP/1.1" or
	// "HTTP/2.0" (the response's, or its connection's when no response
	// came). Empty when the request got no connection.
	Protocol string `json:"protocol,omitempty"`
	// ConnectionWarm, from net/http/httptrace, is set when the request's
	// connection was ready before the request started: the request did not
	// connect or shake hands itself (no ConnectStart, no TLSHandshakeStart)
	// and got (GotConn) a connection that had carried a request before or
	// that the worker opened, TLS handshake and HTTP/2 SETTINGS included,
	// ahead of the send instant. False means the request opened its
	// connection, or waited for one, when it was sent. Absent when the
	// request was never sent (and in records made before it was measured).
	ConnectionWarm *bool `json:"connection_warm,omitempty"`
	// Connection names the request's connection by its local address
	// (host:port of the worker's end), so that a pass can count the
	// connections it used. Empty when the request got none.
	Connection string `json:"connection,omitempty"`
}

// AttemptRecord is one try of a request that was sent more than once.
type AttemptRecord struct {
	Attempt           int32    `json:"attempt"`
	SentAt            string   `json:"sent_at"`
	ReceivedAt        string   `json:"received_at"`
	LatencySeconds    float64  `json:"latency_seconds"`
	HTTPStatus        int      `json:"http_status"`
	Error             string   `json:"error"`
	RetryAfterSeconds *float64 `json:"retry_after_seconds,omitempty"`
	// WaitSeconds is the time from the previous try's answer to this send.
	WaitSeconds float64 `json:"wait_seconds"`
}

// Retryable reports whether -retry backoff sends the request again: a rate
// limit (429) or a server error (500, 502, 503, 504).
func (r RequestRecord) Retryable() bool {
	switch r.HTTPStatus {
	case 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// RateLimit is what a response said about the key's rate limits, from
// OpenAI's x-ratelimit-* headers. A header that was absent stays nil/empty.
type RateLimit struct {
	LimitRequests     *int   `json:"limit_requests,omitempty"`
	RemainingRequests *int   `json:"remaining_requests,omitempty"`
	ResetRequests     string `json:"reset_requests,omitempty"`
	LimitTokens       *int   `json:"limit_tokens,omitempty"`
	RemainingTokens   *int   `json:"remaining_tokens,omitempty"`
	ResetTokens       string `json:"reset_tokens,omitempty"`
}

// Sent parses SentAt. Records made by this package always parse.
func (r RequestRecord) Sent() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.SentAt)
	return t
}

// Received parses ReceivedAt.
func (r RequestRecord) Received() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.ReceivedAt)
	return t
}

// Fatal reports whether the record's HTTP status makes the rest of the run
// pointless: the key was rejected (401, 403), the model is unknown (404) or
// the request itself is malformed (400).
func (r RequestRecord) Fatal() bool { return IsFatalStatus(r.HTTPStatus) }

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
func FatalReason(r RequestRecord) string {
	switch r.HTTPStatus {
	case 401, 403:
		return "the endpoint rejected the API key (HTTP " + strconv.Itoa(r.HTTPStatus) + "): check OPENAI_API_KEY in the worker's environment (for an allow-listed endpoint, the variable its key_env names)"
	case 404:
		return "the endpoint does not know model \"" + r.Model + "\" (HTTP 404): pick another with -model, or check the endpoint's base URL in the worker's environment (OPENAI_BASE_URL or its base_url; it usually ends in /v1)"
	case 400:
		return "the endpoint refused the request as malformed (HTTP 400): " + r.Error
	}
	return ""
}
