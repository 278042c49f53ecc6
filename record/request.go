package record

import (
	"encoding/json"
	"fmt"
	"time"
)

// Request is everything measured about one request.
type Request struct {
	Index  int    `json:"index"`
	Pass   Pass   `json:"pass"`
	Prompt string `json:"prompt"`
	// SentAt is when the request was sent and ReceivedAt when its answer
	// (or its failure) arrived, both in UTC. Zero for a request that was
	// never sent; the JSON then holds "" (see MarshalJSON).
	SentAt         time.Time `json:"sent_at"`
	ReceivedAt     time.Time `json:"received_at"`
	LatencySeconds float64   `json:"latency_seconds"`
	OK             bool      `json:"ok"`
	HTTPStatus     int       `json:"http_status"`
	Error          string    `json:"error"`
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
	Attempts []Attempt `json:"attempts,omitempty"`
	// TotalLatencySeconds, for a request sent more than once, runs from the
	// first try's send to the final answer, waits included.
	TotalLatencySeconds float64 `json:"total_latency_seconds,omitempty"`

	// Attempt (above) numbers the request's try: 1, or 2, 3… for the
	// workflow's resends with -retry backoff.

	// ActivityAttempt is Temporal's attempt of the batch activity that sent
	// the request: 1, unless the worker running the batch was lost and
	// Temporal retried the batch on another worker.
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

	// Worker is the Temporal identity of the worker that sent the request
	// (workerhost.Identity: "pid@host@ endpoints=..."). Empty for a request
	// that no worker sent, and in records made before it was recorded.
	Worker string `json:"worker,omitempty"`
	// ClockOffsetSeconds estimates how far the clock of the worker that
	// sent the request was ahead of the Temporal server's (negative:
	// behind), from its batch: the middle of ClockOffsetLowSeconds and
	// ClockOffsetHighSeconds when both are known, else the high bound.
	// Absent when no worker sent the request. See
	// docs/concurrent-pass.md#clocks.
	ClockOffsetSeconds *float64 `json:"clock_offset_seconds,omitempty"`
	// ClockOffsetHighSeconds bounds the offset from above: the worker's
	// clock when the batch started minus the batch's started time as the
	// server stamped it (too high by the time the task took to reach the
	// worker). ClockOffsetLowSeconds bounds it from below: the worker's
	// clock when the batch returned minus the time the server stamped on
	// the batch's completion (too low by the time the result took to reach
	// the server); the history reader sets it, and it is absent for a batch
	// that did not complete.
	ClockOffsetHighSeconds *float64 `json:"clock_offset_high_seconds,omitempty"`
	ClockOffsetLowSeconds  *float64 `json:"clock_offset_low_seconds,omitempty"`
}

// SetClockOffset sets the clock offset bounds of the record (low may be
// nil) and ClockOffsetSeconds from them.
func (r *Request) SetClockOffset(low, high *float64) {
	r.ClockOffsetLowSeconds, r.ClockOffsetHighSeconds = copyFloat(low), copyFloat(high)
	switch {
	case low != nil && high != nil:
		mid := (*low + *high) / 2
		r.ClockOffsetSeconds = &mid
	default:
		r.ClockOffsetSeconds = copyFloat(high)
	}
}

func copyFloat(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Attempt is one try of a request that was sent more than once.
type Attempt struct {
	Attempt           int32     `json:"attempt"`
	SentAt            time.Time `json:"sent_at"`
	ReceivedAt        time.Time `json:"received_at"`
	LatencySeconds    float64   `json:"latency_seconds"`
	HTTPStatus        int       `json:"http_status"`
	Error             string    `json:"error"`
	RetryAfterSeconds *float64  `json:"retry_after_seconds,omitempty"`
	// WaitSeconds is the time from the previous try's answer to this send.
	WaitSeconds float64 `json:"wait_seconds"`
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

// SetTimes records when the request was sent and its answer received, and
// the latency between them.
func (r *Request) SetTimes(sent, received time.Time) {
	r.SentAt = sent.UTC()
	r.ReceivedAt = received.UTC()
	r.LatencySeconds = received.Sub(sent).Seconds()
}

// WasSent reports whether the request was sent.
func (r Request) WasSent() bool { return !r.SentAt.IsZero() }

// Answered reports whether the record has both its send and its answer
// times.
func (r Request) Answered() bool { return !r.SentAt.IsZero() && !r.ReceivedAt.IsZero() }

// Retryable reports whether -retry backoff sends the request again: a rate
// limit (429) or a server error (500, 502, 503, 504).
func (r Request) Retryable() bool {
	switch r.HTTPStatus {
	case 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// Fatal reports whether the record's HTTP status makes the rest of the run
// pointless: the key was rejected (401, 403), the model is unknown (404) or
// the request itself is malformed (400).
func (r Request) Fatal() bool { return IsFatalStatus(r.HTTPStatus) }

// The JSON of a record writes its times in RFC 3339 with nanoseconds, and a
// zero time as "" (the schema since version 1): timeJSON converts.
type timeJSON string

func toJSON(t time.Time) timeJSON {
	if t.IsZero() {
		return ""
	}
	return timeJSON(t.UTC().Format(time.RFC3339Nano))
}

func (s timeJSON) time(field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("record %s: %w", field, err)
	}
	return t.UTC(), nil
}

// requestFields has Request's fields without its methods, so that the JSON
// methods below can use the default encoding for all other fields.
type requestFields Request

type requestJSON struct {
	requestFields
	SentAt     timeJSON `json:"sent_at"`
	ReceivedAt timeJSON `json:"received_at"`
}

// MarshalJSON writes the record with its times as RFC 3339 strings, "" when
// zero.
func (r Request) MarshalJSON() ([]byte, error) {
	return json.Marshal(requestJSON{requestFields(r), toJSON(r.SentAt), toJSON(r.ReceivedAt)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Request) UnmarshalJSON(b []byte) error {
	var j requestJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Request(j.requestFields)
	var err1, err2 error
	r.SentAt, err1 = j.SentAt.time("sent_at")
	r.ReceivedAt, err2 = j.ReceivedAt.time("received_at")
	if err1 != nil {
		return err1
	}
	return err2
}

type attemptFields Attempt

type attemptJSON struct {
	attemptFields
	SentAt     timeJSON `json:"sent_at"`
	ReceivedAt timeJSON `json:"received_at"`
}

// MarshalJSON writes the attempt with its times as RFC 3339 strings, "" when
// zero.
func (a Attempt) MarshalJSON() ([]byte, error) {
	return json.Marshal(attemptJSON{attemptFields(a), toJSON(a.SentAt), toJSON(a.ReceivedAt)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Attempt) UnmarshalJSON(b []byte) error {
	var j attemptJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*a = Attempt(j.attemptFields)
	var err1, err2 error
	a.SentAt, err1 = j.SentAt.time("sent_at")
	a.ReceivedAt, err2 = j.ReceivedAt.time("received_at")
	if err1 != nil {
		return err1
	}
	return err2
}
