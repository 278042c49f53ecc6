package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/llmconc/llmconc/record"
)

// Activities holds the OpenAI client of one endpoint, and those of the other
// endpoints the worker serves. Its methods are the activities; each picks its
// endpoint by the name in its input.
type Activities struct {
	Client *openai.Client
	// Endpoint is the endpoint of Client; its Name ("" for DefaultEndpoint)
	// is how runs choose it.
	Endpoint record.Endpoint
	// Pool, when set, is the connection pool of Client's transport: a
	// concurrent batch opens its connections in it before its send instant.
	Pool *ConnPool
	// Secret, when set, is removed from every error and response text that
	// the activities return: an endpoint or proxy that echoes the request's
	// Authorization header must not carry the key into Temporal's history.
	Secret string
	// HTTPClient, when set, is Client's HTTP client; a process done with
	// these activities, or that wants the next pass to start cold, closes
	// its idle connections. (Every exported method of Activities is an
	// activity, hence a field and not a method.)
	HTTPClient *http.Client
	// HeartbeatEvery is how often a running batch heartbeats the progress
	// it made (at least every third time even without any); 0 means 1s.
	HeartbeatEvery time.Duration
	// Others are the other endpoints the worker serves, by name, each with
	// its own client, connection pool, key and send gates (all the shards of
	// a pass use one endpoint). A name that is neither Endpoint.Name nor a
	// key of Others fails the activity, not retryably.
	Others map[string]*Activities

	gates fireGates

	redactorOnce sync.Once
	redactor     *Redactor
}

// redactorOf returns the Redactor of a's Secret.
func (a *Activities) redactorOf() *Redactor {
	a.redactorOnce.Do(func() { a.redactor = NewRedactor(a.Secret) })
	return a.redactor
}

var closedChan = func() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// DescribeEndpoint returns the named endpoint (name, base URL and label,
// never the key), so that the run's result says what was measured. It fails,
// not retryably, when the worker does not serve that name.
func (a *Activities) DescribeEndpoint(ctx context.Context, in DescribeInput) (record.Endpoint, error) {
	e, err := a.serving(in.Endpoint)
	if err != nil {
		return record.Endpoint{}, err
	}
	ep := e.Endpoint
	ep.Name = e.name()
	return ep, nil
}

// name is the name of a's own endpoint.
func (a *Activities) name() string {
	if a.Endpoint.Name == "" {
		return record.DefaultEndpoint
	}
	return a.Endpoint.Name
}

// serving returns the activities of the named endpoint ("" for
// DefaultEndpoint): a itself or one of a.Others.
func (a *Activities) serving(name string) (*Activities, error) {
	if name == "" {
		name = record.DefaultEndpoint
	}
	if name == a.name() {
		return a, nil
	}
	if o := a.Others[name]; o != nil {
		return o, nil
	}
	return nil, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("this worker does not serve endpoint %q; it serves %s", name, strings.Join(a.names(), ", ")),
		UnknownEndpointErrorType, nil)
}

// names lists the endpoints served, sorted. (Not exported: every exported
// method of Activities is an activity.)
func (a *Activities) names() []string {
	names := []string{a.name()}
	for n := range a.Others {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EndpointNames lists the endpoints that a serves, sorted: the name of its
// own and those of a.Others. (A function, not a method: every exported method
// of Activities is an activity.)
func EndpointNames(a *Activities) []string { return a.names() }

// Send sends a batch of chat-completion requests and times each one. A failed
// request is a record with ok=false, not an activity error: the activity only
// fails when it cannot run at all.
//
// The batch heartbeats the records answered so far (see SendProgress). When
// Temporal retries it because its worker was lost, the new attempt keeps
// those records and sends only the other requests, at once (the common
// instant has passed): each request is recorded once, by the attempt that
// answered it (activity_attempt), and one that the lost attempt had already
// sent is marked resent.
func (a *Activities) Send(ctx context.Context, in SendInput) (SendOutput, error) {
	a, err := a.serving(in.Endpoint)
	if err != nil {
		return SendOutput{}, err
	}
	if a.Client == nil {
		return SendOutput{}, errors.New("activities: no OpenAI client configured")
	}
	activityAttempt := activity.GetInfo(ctx).Attempt
	conc := in.Concurrency
	if conc < 1 {
		conc = 1
	}
	progress, err := resumeProgress(ctx, in)
	if err != nil {
		return SendOutput{}, err
	}
	answered := progress.answered()
	todo := make([]RequestSpec, 0, len(in.Requests))
	for _, spec := range in.Requests {
		if !answered[spec.Index] {
			todo = append(todo, spec)
		}
	}

	stopHeartbeat := a.heartbeat(ctx, progress)
	defer stopHeartbeat()

	// The senders are started before the common instant, and each builds
	// its first request (body serialized, headers set) and hands it to the
	// transport, where it waits at a gate shared by every batch of this
	// worker (WithHold): at FireAt nothing is left to do but write, on a
	// connection opened ahead. The start spread is the scheduler's, not
	// our set-up's.
	fire := closedChan
	held := !in.FireAt.IsZero()
	if held {
		var done func()
		fire, done = a.gates.wait(in.FireAt)
		defer done()
	}
	var (
		mu    sync.Mutex
		fatal bool
		errs  []error
		wg    sync.WaitGroup
		queue = make(chan RequestSpec, len(todo))
	)
	for _, rec := range progress.all() {
		fatal = fatal || rec.Fatal()
	}
	for _, spec := range todo {
		queue <- spec
	}
	close(queue)
	senders := min(conc, len(todo))
	slots := make([]slotRef, senders)
	if held {
		slots = newSlotRefs(senders)
	}
	for i := range senders {
		wg.Add(1)
		// Each sender sends on its own slot of the connections opened
		// ahead, once they are (the transport dials for a sender without
		// one).
		ctx := context.WithValue(ctx, slotKey{}, &slots[i])
		go func() {
			defer wg.Done()
			first := held
			for spec := range queue {
				mu.Lock()
				stop := fatal && in.StopOnFatal
				mu.Unlock()
				if stop || ctx.Err() != nil {
					return
				}
				var resent bool
				rctx := ctx
				if first {
					// In flight from the release on, not before.
					rctx = WithHold(ctx, in.FireAt, fire, func() { resent = progress.sending(spec.Index) })
					first = false
				} else {
					resent = progress.sending(spec.Index)
				}
				rec := a.call(rctx, in, spec)
				a.redactorOf().sanitize(&rec)
				rec.Attempt = max(in.Attempt, 1)
				rec.ActivityAttempt = activityAttempt
				rec.Resent = resent
				if !in.FireAt.IsZero() {
					rec.DispatchDelaySeconds = max(0, rec.SentAt.Sub(in.FireAt).Seconds())
				}
				if ctx.Err() != nil {
					// Cut short by the end of this attempt: the next one
					// sends it again.
					return
				}
				err := progress.add(rec)
				mu.Lock()
				fatal = fatal || rec.Fatal()
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	var burst *Burst
	if held && a.Pool != nil && time.Until(in.FireAt) > 0 {
		warmCtx, cancel := context.WithDeadline(ctx, in.FireAt)
		burst = a.Pool.Join(warmCtx, a.Endpoint.BaseURL, in.FireAt, senders)
		cancel()
		// Its connections are closed once every sender has returned.
		defer burst.Close()
	}
	if held {
		setSlots(slots, burst)
	}
	wg.Wait()
	// The result is reported once every batch of the instant is done, not
	// while their last responses arrive.
	burst.Finish(ctx)
	if err := ctx.Err(); err != nil {
		return SendOutput{}, err
	}
	if err := errors.Join(errs...); err != nil {
		return SendOutput{}, err
	}
	// A result past Temporal's payload limit would lose every record:
	// trim the response texts instead.
	recs := progress.all()
	if progress.encodedLen() > MaxBatchResultBytes-64 {
		recs = fitRecords(recs, MaxBatchResultBytes)
	}
	return SendOutput{Records: recs}, nil
}

// call sends one request and measures it. Wall-clock timestamps are for the
// record; the latency comes from the monotonic clock. Whatever the outcome,
// the response's rate-limit headers, as CaptureTransport saw them, go into
// the record.
func (a *Activities) call(ctx context.Context, in SendInput, spec RequestSpec) record.Request {
	rec := record.Request{Index: spec.Index, Pass: in.Pass, Prompt: spec.Prompt, Model: in.Model, Stream: in.Stream}
	timeout := in.RequestTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	// A request held until the send instant (WithHold) has its whole
	// timeout from the instant on.
	start := time.Now()
	if in.FireAt.After(start) {
		start = in.FireAt
	}
	reqCtx, cancel := context.WithDeadline(ctx, start.Add(timeout))
	defer cancel()
	capture := &Capture{
		TimeEvents:    in.Stream,
		HeaderTimeout: HeaderBound(timeout, in.Stream),
		StallTimeout:  StallBound(timeout, in.Stream),
		BodyLimit:     ResponseBound(in.MaxTokens, in.Stream),
	}
	if in.Stream {
		capture.LineLimit = LineLimit
	}
	reqCtx = WithCapture(reqCtx, capture)

	req := openai.ChatCompletionRequest{
		Model: in.Model,
		// max_tokens, not max_completion_tokens: every OpenAI-compatible
		// server (vLLM, Ollama, llama.cpp) reads it, and OpenAI still does.
		MaxTokens: in.MaxTokens, //lint:ignore SA1019 see above
		Messages:  []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: spec.Prompt}},
	}
	if in.Stream {
		a.callStream(reqCtx, cancel, req, capture, timeout, &rec)
	} else {
		a.callOnce(reqCtx, req, capture, timeout, &rec)
	}
	capture.conn.fill(&rec, a.Pool)
	if h := capture.Header(); h != nil {
		rec.RateLimit = rateLimitFrom(h)
		if rec.HTTPStatus == http.StatusTooManyRequests || rec.HTTPStatus == http.StatusServiceUnavailable {
			rec.RetryAfterSeconds = retryAfterSeconds(h, time.Now())
		}
	}
	if rec.OK && rec.LatencySeconds > 0 {
		rec.OutputTokensPerSecond = float64(rec.CompletionTokens) / rec.LatencySeconds
	}
	return rec
}

// callOnce sends a non-streamed request.
func (a *Activities) callOnce(ctx context.Context, req openai.ChatCompletionRequest, capture *Capture, timeout time.Duration, rec *record.Request) {
	sent := time.Now()
	resp, err := a.Client.CreateChatCompletion(ctx, req)
	received := time.Now()
	sent = capture.conn.sentAt(sent)

	rec.SetTimes(sent, received)
	rec.HTTPStatus = capture.Status()
	if err != nil {
		a.requestFailed(ctx, err, capture, timeout, rec)
		return
	}
	if rec.HTTPStatus == 0 {
		rec.HTTPStatus = http.StatusOK
	}
	if len(resp.Choices) == 0 {
		a.fail(rec, record.ErrorKindMalformedResponse, fmt.Sprintf("malformed response (HTTP %d): no choices, not a chat completion", rec.HTTPStatus))
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
func (a *Activities) requestFailed(ctx context.Context, err error, capture *Capture, timeout time.Duration, rec *record.Request) {
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
		msg = tooLargeMessage(capture)
	default:
		// An error body cut at ErrorBodyLimit may end with the start of
		// an echoed key: its tail is redacted too.
		cut = capture.errorBodyCut()
	}
	a.failCut(rec, kind, msg, cut)
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0:
		rec.HTTPStatus = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr) && reqErr.HTTPStatusCode != 0:
		rec.HTTPStatus = reqErr.HTTPStatusCode
	}
}

// fail marks rec as failed, of kind, with msg made safe for the record:
// normalised to one line, the key redacted, then truncated (in that order: a
// key cut in two would escape redaction).
func (a *Activities) fail(rec *record.Request, kind, msg string) { a.failCut(rec, kind, msg, false) }

// failCut is fail for a msg that may end cut (see Redactor.Line).
func (a *Activities) failCut(rec *record.Request, kind, msg string, cut bool) {
	rec.OK = false
	rec.ErrorKind = kind
	rec.Error = a.redactorOf().Line(msg, maxErrorLen, cut)
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

// maxErrorLen caps a record's error text, which keeps a run's result size
// predictable.
const maxErrorLen = 300

// truncate shortens s to at most n bytes, on a character boundary, marking
// the cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
