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

	openai "github.com/sashabaranov/go-openai"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
)

// Activities holds the OpenAI client of one endpoint, and those of the other
// endpoints the worker serves. Its methods Send and DescribeEndpoint are the
// activities (see Register); each picks its endpoint by the name in its
// input. Its fields are set before the first activity runs, and not changed
// after.
type Activities struct {
	Client *openai.Client
	// Endpoint is the endpoint of Client; its Name ("" for DefaultEndpoint)
	// is how runs choose it.
	Endpoint record.Endpoint
	// Pool, when set, is the connection pool of Client's transport: a
	// concurrent batch opens its connections in it before its send instant.
	Pool *measure.ConnPool
	// Secret, when set, is removed from every error and response text that
	// the activities return: an endpoint or proxy that echoes the request's
	// Authorization header must not carry the key into Temporal's history.
	Secret string
	// HTTPClient, when set, is Client's HTTP client (see
	// CloseIdleConnections).
	HTTPClient *http.Client
	// HeartbeatEvery is how often a running batch heartbeats the progress
	// it made (at least every third time even without any); 0 means 1s.
	HeartbeatEvery time.Duration
	// Others are the other endpoints the worker serves, by name, each with
	// its own client, connection pool, key and send gates (all the shards of
	// a pass use one endpoint). A name that is neither Endpoint.Name nor a
	// key of Others fails the activity, not retryably.
	Others map[string]*Activities
	// Identity is the worker's Temporal identity (workerhost.Identity),
	// written into every record the worker sends (record.Request.Worker).
	// The activities of Others use the Identity and Clock of the
	// Activities that the worker registered.
	Identity string
	// Clock, when set, is the worker's clock instead of time.Now: tests set
	// it to give one worker a deliberate offset from the Temporal server's
	// clock (see clock.go). Production leaves it nil.
	Clock func() time.Time
	// Observer, when set, is told of each request of this endpoint as it
	// goes in flight and once it is over (the worker's metrics).
	Observer chat.Observer

	senderOnce sync.Once
	sender     *chat.Sender
}

// Register registers a's activities with r, each under its name
// (SendActivity, DescribeEndpointActivity), which the workflow and the
// history reader use too. Only these methods are activities.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.Send, activity.RegisterOptions{Name: SendActivity})
	r.RegisterActivityWithOptions(a.DescribeEndpoint, activity.RegisterOptions{Name: DescribeEndpointActivity})
}

// chatSender returns the chat.Sender of a's endpoint, made once: its send
// gates are shared by every batch of the endpoint.
func (a *Activities) chatSender() *chat.Sender {
	a.senderOnce.Do(func() {
		a.sender = &chat.Sender{Client: a.Client, BaseURL: a.Endpoint.BaseURL, Pool: a.Pool, Redactor: measure.NewRedactor(a.Secret), Observer: a.Observer}
	})
	return a.sender
}

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
		fmt.Sprintf("this worker does not serve endpoint %q; it serves %s", name, strings.Join(a.EndpointNames(), ", ")),
		UnknownEndpointErrorType, nil)
}

// EndpointNames lists the endpoints that a serves, sorted: the name of its
// own and those of a.Others.
func (a *Activities) EndpointNames() []string {
	names := []string{a.name()}
	for n := range a.Others {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CloseIdleConnections closes the idle connections of every endpoint's HTTP
// client: for a process done with the activities, or one that wants the
// next pass to start cold.
func (a *Activities) CloseIdleConnections() {
	if a.HTTPClient != nil {
		a.HTTPClient.CloseIdleConnections()
	}
	for _, o := range a.Others {
		o.CloseIdleConnections()
	}
}

// Send sends a batch of chat-completion requests and times each one (see
// chat.Sender.SendBatch). A failed request is a record with ok=false, not an
// activity error: the activity only fails when it cannot run at all.
//
// The batch heartbeats the records answered so far (see SendProgress). When
// Temporal retries it because its worker was lost, the new attempt keeps
// those records and sends only the other requests, at once (the common
// instant has passed): each request is recorded once, by the attempt that
// answered it (activity_attempt), and one that the lost attempt had already
// sent is marked resent.
func (a *Activities) Send(ctx context.Context, in SendInput) (SendOutput, error) {
	host := a.hostClock(ctx)
	a, err := a.serving(in.Endpoint)
	if err != nil {
		return SendOutput{}, err
	}
	if a.Client == nil {
		return SendOutput{}, errors.New("activities: no OpenAI client configured")
	}
	activityAttempt := activity.GetInfo(ctx).Attempt
	in.FireAt = host.fireAt(in.FireAt)
	progress, err := resumeProgress(ctx, in)
	if err != nil {
		return SendOutput{}, err
	}
	stopHeartbeat := a.heartbeat(ctx, progress)
	defer stopHeartbeat()
	keep := func(rec record.Request) error {
		rec.Attempt = max(in.Attempt, 1)
		rec.ActivityAttempt = activityAttempt
		host.stamp(&rec)
		return progress.add(rec)
	}
	cancelled := func() bool { return temporal.IsCanceledError(context.Cause(ctx)) }
	err = a.chatSender().SendBatch(ctx, chat.Batch{
		Params:      paramsOf(in),
		Prompts:     progress.unanswered(in.Requests),
		Concurrency: in.Concurrency,
		StopOnFatal: in.StopOnFatal,
		Fatal:       progress.fatal(),
		OnSend:      progress.sending,
		OnAnswer:    keep,
		// A request cut short by the run's cancellation will not be sent
		// again: its record (sent, then cancelled) is what it measured.
		// Cut short otherwise (the worker stopping), a later attempt
		// sends it again.
		OnCutShort: func(rec record.Request) {
			if cancelled() {
				_ = keep(rec)
			}
		},
	})
	if err != nil && !cancelled() {
		return SendOutput{}, err
	}
	out := SendOutput{Records: progress.result()}
	host.finish(&out, activityAttempt)
	if cancelled() {
		// Cancelled with its run: what it measured goes back with the
		// cancellation (the workflow waits for it, and the history keeps
		// it for the starter).
		return SendOutput{}, temporal.NewCanceledError(out)
	}
	return out, nil
}

// paramsOf is what the requests of in share.
func paramsOf(in SendInput) chat.Params {
	return chat.Params{Pass: in.Pass, Model: in.Model, MaxTokens: in.MaxTokens, Stream: in.Stream, Timeout: in.RequestTimeout, FireAt: in.FireAt}
}
