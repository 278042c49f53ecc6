// Package activities is the Temporal side of the measurement: the activities
// Send (a batch of timed chat completions, through package chat) and
// DescribeEndpoint, registered by Register under SendActivity and
// DescribeEndpointActivity. It adds what Temporal needs around package chat:
// heartbeats of the progress of a batch and the resumption of a lost
// attempt from them, non-retryable errors, and a result that fits
// Temporal's payload limit. The API key and the base URL live in the
// Activities struct (worker-side), never in an activity's input or result.
package activities

import (
	"time"

	"github.com/llmconc/llmconc/record"
)

// UnknownEndpointErrorType is the ApplicationError type of an activity asked
// for an endpoint that its worker does not serve. It is not retryable.
const UnknownEndpointErrorType = "UnknownEndpoint"

// DescribeInput is the input of Activities.DescribeEndpoint: the name of the
// endpoint, never its URL ("" means DefaultEndpoint).
type DescribeInput struct {
	Endpoint string `json:"endpoint,omitempty"`
}

// RequestSpec is one request of a batch: its index in the run and its prompt.
type RequestSpec struct {
	Index  int    `json:"index"`
	Prompt string `json:"prompt"`
	// SendOffset, with -rate, is when the request is sent: at FireAt plus
	// it (see chat.Prompt.Offset); 0 for a burst.
	SendOffset time.Duration `json:"send_offset,omitempty"`
}

// SendInput is the input of Activities.Send: a batch of requests of one pass.
// The sequential pass sends batches of one, chained by the workflow. The
// concurrent pass sends shards that all wait for the common instant FireAt and
// then keep Concurrency requests in flight.
type SendInput struct {
	// Endpoint names one of the endpoints the worker serves ("" means
	// DefaultEndpoint). A run chooses among them and never names a URL.
	Endpoint    string        `json:"endpoint,omitempty"`
	Pass        record.Pass   `json:"pass"`
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
	Records []record.Request `json:"records"`
	// Worker is the identity of the worker that ran the batch (its last
	// attempt, ActivityAttempt), and FinishedAt that worker's clock as the
	// batch returned: against the time the server stamped on the batch's
	// completion, it bounds the worker's clock offset from below (see
	// history.ReadRecords and record.Request.ClockOffsetLowSeconds).
	// Absent in the results of batches run before they were recorded.
	Worker          string    `json:"worker,omitempty"`
	ActivityAttempt int32     `json:"activity_attempt,omitempty"`
	FinishedAt      time.Time `json:"finished_at,omitzero"`
}

// Activity names. The worker registers each activity under its name, and the
// workflow and the history reader find it by the same constant.
const (
	SendActivity             = "Send"
	DescribeEndpointActivity = "DescribeEndpoint"
)
