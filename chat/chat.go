// Package chat sends timed chat completions through
// github.com/sashabaranov/go-openai: one request (streamed or not) into a
// record.Request, and a batch of them that keeps a number in flight and may
// wait for a common send instant. The HTTP measuring underneath (capture,
// bounds, warm connections, redaction) is package measure; chat adds the
// OpenAI calls and the classification of their errors. It knows nothing of
// Temporal.
package chat

import (
	"context"
	"fmt"
	"net/http"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
)

// DefaultTimeout bounds a request whose Params give no timeout.
const DefaultTimeout = 2 * time.Minute

// Sender sends the chat completions of one endpoint and times them. Its
// send gates are shared by every batch it sends: use one Sender per endpoint,
// and do not copy it.
type Sender struct {
	// Client is the endpoint's OpenAI client; its HTTP client should be one
	// of measure.NewHTTPClient (see measure.CaptureTransport).
	Client *openai.Client
	// BaseURL is the endpoint's base URL, where Pool opens connections.
	BaseURL string
	// Pool, when set, is the connection pool of Client's transport: a batch
	// with a send instant opens its connections in it ahead of the instant.
	Pool *measure.ConnPool
	// Redactor removes the key from everything the endpoint sends back
	// (nil: nothing is redacted).
	Redactor *measure.Redactor
	// Observer, when set, is told of each request of a batch as it goes in
	// flight and once it is over (see Observer).
	Observer Observer

	gates measure.FireGates
}

// Params are what the requests of a batch share.
type Params struct {
	Pass      record.Pass
	Model     string
	MaxTokens int
	// Stream asks for a streamed response (SSE) and per-chunk timing.
	Stream bool
	// Timeout bounds each request (0: DefaultTimeout).
	Timeout time.Duration
	// FireAt, when set, is the batch's common send instant: a request held
	// until then has its whole timeout from then on, and its record says
	// how late it left (dispatch_delay_seconds).
	FireAt time.Time
}

// Prompt is one request: its index in the run and its text.
type Prompt struct {
	Index int
	Text  string
	// Offset, when a prompt of the batch has one, paces the batch: this
	// request is sent at Params.FireAt + Offset (see Batch).
	Offset time.Duration
}

// Send sends one request and measures it. A failed request is a record
// with ok=false; every string the endpoint sent is made safe for the record
// (see measure.Redactor).
func (s *Sender) Send(ctx context.Context, p Params, prompt Prompt) record.Request {
	rec := s.call(ctx, p, prompt)
	s.Redactor.Sanitize(&rec)
	if !p.FireAt.IsZero() {
		rec.DispatchDelaySeconds = max(0, rec.SentAt.Sub(p.FireAt).Seconds())
	}
	return rec
}

// call sends one request and measures it. Wall-clock timestamps are for the
// record; the latency comes from the monotonic clock. Whatever the outcome,
// the response's rate-limit headers, as CaptureTransport saw them, go into
// the record.
func (s *Sender) call(ctx context.Context, p Params, prompt Prompt) record.Request {
	rec := record.Request{Index: prompt.Index, Pass: p.Pass, Prompt: prompt.Text, Model: p.Model, Stream: p.Stream}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// A request held until the send instant (measure.WithHold) has its whole
	// timeout from the instant on.
	start := time.Now()
	if p.FireAt.After(start) {
		start = p.FireAt
	}
	reqCtx, cancel := context.WithDeadline(ctx, start.Add(timeout))
	defer cancel()
	capture := newCapture(p, timeout)
	reqCtx = measure.WithCapture(reqCtx, capture)

	req := openai.ChatCompletionRequest{
		Model: p.Model,
		// max_tokens, not max_completion_tokens: every OpenAI-compatible
		// server (vLLM, Ollama, llama.cpp) reads it, and OpenAI still does.
		MaxTokens: p.MaxTokens, //lint:ignore SA1019 see above
		Messages:  []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: prompt.Text}},
	}
	if p.Stream {
		s.callStream(reqCtx, cancel, req, capture, timeout, &rec)
	} else {
		s.callOnce(reqCtx, req, capture, timeout, &rec)
	}
	capture.FillConnection(&rec, s.Pool)
	if h := capture.Header(); h != nil {
		rec.RateLimit = measure.RateLimitFrom(h)
		if rec.HTTPStatus == http.StatusTooManyRequests || rec.HTTPStatus == http.StatusServiceUnavailable {
			rec.RetryAfterSeconds = measure.RetryAfterSeconds(h, time.Now())
		}
	}
	if rec.OK && rec.LatencySeconds > 0 {
		rec.OutputTokensPerSecond = float64(rec.CompletionTokens) / rec.LatencySeconds
	}
	return rec
}

// newCapture returns the Capture of one request: its bounds, and event
// timing for a streamed one.
func newCapture(p Params, timeout time.Duration) *measure.Capture {
	c := &measure.Capture{
		TimeEvents:    p.Stream,
		HeaderTimeout: measure.HeaderBound(timeout, p.Stream),
		StallTimeout:  measure.StallBound(timeout, p.Stream),
		BodyLimit:     measure.ResponseBound(p.MaxTokens, p.Stream),
	}
	if p.Stream {
		c.LineLimit = measure.LineLimit
	}
	return c
}

// callOnce sends a non-streamed request.
func (s *Sender) callOnce(ctx context.Context, req openai.ChatCompletionRequest, capture *measure.Capture, timeout time.Duration, rec *record.Request) {
	sent := time.Now()
	resp, err := s.Client.CreateChatCompletion(ctx, req)
	received := time.Now()
	sent = capture.SentAt(sent)

	rec.SetTimes(sent, received)
	rec.HTTPStatus = capture.Status()
	if err != nil {
		s.requestFailed(ctx, err, capture, timeout, rec)
		return
	}
	if rec.HTTPStatus == 0 {
		rec.HTTPStatus = http.StatusOK
	}
	if len(resp.Choices) == 0 {
		s.fail(rec, record.ErrorKindMalformedResponse, fmt.Sprintf("malformed response (HTTP %d): no choices, not a chat completion", rec.HTTPStatus))
		return
	}
	rec.OK = true
	if resp.Model != "" {
		rec.Model = resp.Model
	}
	rec.PromptTokens = resp.Usage.PromptTokens
	rec.CompletionTokens = resp.Usage.CompletionTokens
	rec.Response = resp.Choices[0].Message.Content
}

// requestFailed records a request that go-openai reports as failed: the
// error in one line, its kind, and the HTTP status it carries, if any.
func (s *Sender) requestFailed(ctx context.Context, err error, capture *measure.Capture, timeout time.Duration, rec *record.Request) {
	kind := classifyFailure(ctx, err, capture, rec.HTTPStatus)
	msg := describeError(ctx, err, timeout)
	cut := false
	switch kind {
	case record.ErrorKindSlowHeaders:
		msg = fmt.Sprintf("no response headers within %s (half the request timeout %s)", capture.HeaderTimeout, timeout)
	case record.ErrorKindMalformedResponse:
		msg = fmt.Sprintf("malformed response (HTTP %d): %s", rec.HTTPStatus, msg)
	case record.ErrorKindRedirect:
		msg = fmt.Sprintf("HTTP %d: redirect to %s refused: the worker never follows a redirect (the key and the prompt would go with it)", capture.Status(), capture.Redirect())
	case record.ErrorKindResponseTooLarge:
		msg = capture.TooLargeMessage()
	default:
		// An error body cut at ErrorBodyLimit may end with the start of
		// an echoed key: its tail is redacted too.
		cut = capture.ErrorBodyCut()
	}
	s.failCut(rec, kind, msg, cut)
	if status := errorStatus(err); status != 0 {
		rec.HTTPStatus = status
	}
}

// fail marks rec as failed, of kind, with msg made safe for the record:
// normalised to one line, the key redacted, then truncated (in that order: a
// key cut in two would escape redaction).
func (s *Sender) fail(rec *record.Request, kind, msg string) { s.failCut(rec, kind, msg, false) }

// failCut is fail for a msg that may end cut (see measure.Redactor.Line).
func (s *Sender) failCut(rec *record.Request, kind, msg string, cut bool) {
	rec.OK = false
	rec.ErrorKind = kind
	rec.Error = s.Redactor.Line(msg, measure.MaxErrorLen, cut)
}
