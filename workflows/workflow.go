package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// AbortedErrorType is the ApplicationError type of a run that ended early.
// Its details hold the RunResult measured so far.
const AbortedErrorType = "RunAborted"

// InvalidInputErrorType is the ApplicationError type of a run whose input was
// rejected before any request was sent.
const InvalidInputErrorType = "InvalidInput"

// heartbeatTimeout is how long Temporal waits for a batch's heartbeat before
// it takes the batch's worker for lost and retries the batch on another
// (which resumes from the last heartbeat; see activities.Send). A batch
// heartbeats at least every 3 s, so 10 s tolerates a slow heartbeat or two
// and still notices a dead worker within seconds rather than at the
// batch's start-to-close timeout.
const heartbeatTimeout = 10 * time.Second

// run is the state of one run, shared with the progress query.
type run struct {
	in       RunInput
	result   RunResult
	phase    string
	events   []ProgressEvent
	progress map[string]*PassProgress
	records  map[string][]record.Request
	// own holds, per pass, the records the workflow made itself, for
	// requests that no batch activity reported.
	own map[string][]record.Request
	// done marks, per pass, the requests with at least one answer.
	done map[string]map[int]bool
	// stream is whether the requests are streamed: in.Stream, unless the
	// warm-up showed that the endpoint does not stream (see warmup).
	stream bool
}

// ConcurrencyTest is the workflow: one run of the concurrency test.
func ConcurrencyTest(ctx workflow.Context, in RunInput) (RunResult, error) {
	in = in.WithDefaults()
	if err := in.Validate(); err != nil {
		return RunResult{}, temporal.NewNonRetryableApplicationError(err.Error(), InvalidInputErrorType, nil)
	}
	r := &run{
		in:       in,
		phase:    "starting",
		progress: map[string]*PassProgress{record.PassSequential: {}, record.PassConcurrent: {}},
		records:  map[string][]record.Request{},
		own:      map[string][]record.Request{},
		done:     map[string]map[int]bool{},
		stream:   in.Stream,
	}
	cfg := in
	cfg.Prompts = nil
	r.result = RunResult{Config: cfg, StartedAt: workflow.Now(ctx)}
	if in.RunsSequential() {
		r.progress[record.PassSequential].Total = len(in.Indices(record.PassSequential))
	}
	if in.RunsConcurrent() {
		r.progress[record.PassConcurrent].Total = len(in.Indices(record.PassConcurrent))
	}
	for _, level := range in.Sweep {
		r.progress[SweepPass(level)] = &PassProgress{Total: len(in.Indices(SweepPass(level)))}
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, r.query); err != nil {
		return RunResult{}, fmt.Errorf("register the progress query: %w", err)
	}

	var a *activities.Activities
	ectx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Without a worker for the whole of -timeout the run gives up
		// rather than wait for one for ever.
		ScheduleToCloseTimeout: in.Timeout + 30*time.Second,
		StartToCloseTimeout:    30 * time.Second,
		Summary:                "describe the worker's endpoint",
	})
	if err := workflow.ExecuteActivity(ectx, a.DescribeEndpoint, activities.DescribeInput{Endpoint: in.Endpoint}).Get(ctx, &r.result.Endpoint); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.UnknownEndpointErrorType {
			return RunResult{}, temporal.NewNonRetryableApplicationError(appErr.Message(), InvalidInputErrorType, nil)
		}
		return RunResult{}, fmt.Errorf("ask the worker for its endpoint: %w", err)
	}

	deadline := r.result.StartedAt.Add(in.Timeout)
	order := []string{record.PassSequential, record.PassConcurrent}
	// Runs recorded before the warm-up and the pass order replay as they
	// ran: no warm-up, sequential pass first.
	if workflow.GetVersion(ctx, versionWarmupOrder, workflow.DefaultVersion, 1) >= 1 {
		// A rerun of failed requests (Only) resends exactly those.
		if in.Warmup > 0 && in.Only == nil {
			r.enter(ctx, PassWarmup)
			r.warmup(ctx, deadline)
		}
		if in.Order == OrderConcurrentFirst {
			order = []string{record.PassConcurrent, record.PassSequential}
		}
	}
	for _, pass := range order {
		if r.result.Aborted != "" {
			break
		}
		switch {
		case pass == record.PassSequential && in.RunsSequential() && in.Sends(record.PassSequential):
			r.enter(ctx, record.PassSequential)
			r.sequential(ctx, deadline)
			r.result.Sequential = r.finishPass(record.PassSequential, time.Time{}, in.Requests)
		case pass == record.PassConcurrent && in.RunsConcurrent() && in.Sends(record.PassConcurrent):
			r.enter(ctx, record.PassConcurrent)
			fireAt, shards := r.concurrent(ctx, deadline, record.PassConcurrent, in.Concurrency)
			r.result.Concurrent = r.finishPass(record.PassConcurrent, fireAt, shards)
		}
	}
	for _, level := range in.Sweep {
		if r.result.Aborted != "" {
			break
		}
		pass := SweepPass(level)
		if !in.Sends(pass) {
			continue
		}
		r.enter(ctx, pass)
		fireAt, shards := r.concurrent(ctx, deadline, pass, level)
		pr := r.finishPass(pass, fireAt, shards)
		pr.Concurrency = level
		r.result.Sweep = append(r.result.Sweep, pr)
	}
	r.result.FinishedAt = workflow.Now(ctx)
	if r.result.Aborted != "" {
		r.enter(ctx, "aborted")
	} else {
		r.enter(ctx, "done")
	}
	if err := r.upsertVerdict(ctx); err != nil {
		return RunResult{}, err
	}
	if r.result.Aborted != "" {
		return RunResult{}, temporal.NewNonRetryableApplicationError(r.result.Aborted, AbortedErrorType, nil, r.result)
	}
	return r.result, nil
}

// sequential sends the requests one after another: request i+1 is scheduled
// only after the activity of request i has returned.
func (r *run) sequential(ctx workflow.Context, deadline time.Time) {
	var a *activities.Activities
	for _, i := range r.in.Indices(record.PassSequential) {
		spec := activities.RequestSpec{Index: i, Prompt: r.in.Prompts[i]}
		if !workflow.Now(ctx).Before(deadline) {
			r.addUnreported(notSent(record.PassSequential, spec, r.in.Model, "not sent: the run's -timeout had passed"))
			continue
		}
		for attempt := int32(1); ; attempt++ {
			summary := fmt.Sprintf("sequential #%d", i+1)
			if attempt > 1 {
				summary += fmt.Sprintf(" (try %d)", attempt)
			}
			actx := workflow.WithActivityOptions(ctx, r.activityOptions(ctx, deadline, summary, 1, 0))
			var out activities.SendOutput
			in := activities.SendInput{
				Endpoint:       r.in.Endpoint,
				Pass:           record.PassSequential,
				Requests:       []activities.RequestSpec{spec},
				Model:          r.in.Model,
				MaxTokens:      r.in.MaxTokens,
				Concurrency:    1,
				RequestTimeout: r.in.RequestTimeout,
				StopOnFatal:    true,
				Stream:         r.stream,
			}
			if attempt > 1 {
				in.Attempt = attempt
			}
			err := workflow.ExecuteActivity(actx, a.Send, in).Get(ctx, &out)
			if err != nil {
				r.batchFailed(record.PassSequential, in.Requests, err)
				break
			}
			r.add(out.Records...)
			r.details(ctx)
			if r.result.Aborted != "" {
				return
			}
			if len(out.Records) != 1 || !r.in.retrying(out.Records[0]) || !workflow.Now(ctx).Before(deadline) {
				break
			}
			if err := workflow.Sleep(ctx, retryWait(out.Records)); err != nil {
				return
			}
		}
	}
}

// concurrent fans the requests out over shards that all send at one common
// instant, fireAt, and returns it with the number of shards.
func (r *run) concurrent(ctx workflow.Context, deadline time.Time, pass string, concurrency int) (time.Time, int) {
	indices := r.in.Indices(pass)
	specs := make([]activities.RequestSpec, len(indices))
	for i, idx := range indices {
		specs[i] = activities.RequestSpec{Index: idx, Prompt: r.in.Prompts[idx]}
	}
	if !workflow.Now(ctx).Before(deadline) {
		for _, s := range specs {
			r.addUnreported(notSent(pass, s, r.in.Model, "not sent: the run's -timeout had passed"))
		}
		return time.Time{}, 0
	}
	fireAt, shards := r.fire(ctx, pass, specs, concurrency, 0)
	// -retry backoff: resend what was rate-limited or failed on the
	// server's side, all together again, after the longest Retry-After.
	for attempt := int32(2); r.in.Retry == RetryBackoff && r.result.Aborted == ""; attempt++ {
		var again []record.Request
		for _, rec := range CollapseAttempts(r.records[pass]) {
			if r.in.retrying(rec) {
				again = append(again, rec)
			}
		}
		if len(again) == 0 || !workflow.Now(ctx).Before(deadline) {
			break
		}
		if err := workflow.Sleep(ctx, retryWait(again)); err != nil {
			break
		}
		retry := make([]activities.RequestSpec, len(again))
		for i, rec := range again {
			retry[i] = activities.RequestSpec{Index: rec.Index, Prompt: r.in.Prompts[rec.Index]}
		}
		r.fire(ctx, pass, retry, min(concurrency, len(retry)), attempt)
	}
	return fireAt, shards
}

// fire sends specs in shards that all start at one common instant, and
// returns that instant with the number of shards. attempt numbers a resend
// (0 for the first).
func (r *run) fire(ctx workflow.Context, pass string, specs []activities.RequestSpec, concurrency int, attempt int32) (time.Time, int) {
	shards := Shard(specs, concurrency, r.in.MaxShards)
	lead := r.in.FireLead
	if lead == 0 {
		lead = AutoFireLead(len(shards)) + ConnectLead(concurrency)
	}
	fireAt := workflow.Now(ctx).Add(lead)

	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var a *activities.Activities
	sel := workflow.NewSelector(ctx)
	for i, sh := range shards {
		summary := fmt.Sprintf("%s #%d", pass, sh.Requests[0].Index+1)
		if len(sh.Requests) > 1 {
			summary = fmt.Sprintf("%s shard %d/%d: %d requests, %d at a time", pass, i+1, len(shards), len(sh.Requests), sh.Concurrency)
		}
		if attempt > 1 {
			summary += fmt.Sprintf(" (try %d)", attempt)
		}
		waves := (len(sh.Requests) + sh.Concurrency - 1) / sh.Concurrency
		actx := workflow.WithActivityOptions(cctx, r.activityOptions(ctx, r.result.StartedAt.Add(r.in.Timeout), summary, waves, lead))
		sh := sh
		f := workflow.ExecuteActivity(actx, a.Send, activities.SendInput{
			Endpoint:       r.in.Endpoint,
			Pass:           pass,
			Requests:       sh.Requests,
			Model:          r.in.Model,
			MaxTokens:      r.in.MaxTokens,
			Concurrency:    sh.Concurrency,
			FireAt:         fireAt,
			RequestTimeout: r.in.RequestTimeout,
			StopOnFatal:    true,
			Stream:         r.stream,
			Attempt:        attempt,
		})
		sel.AddFuture(f, func(f workflow.Future) {
			var out activities.SendOutput
			if err := f.Get(ctx, &out); err != nil {
				if temporal.IsCanceledError(err) {
					return
				}
				r.batchFailed(pass, sh.Requests, err)
				return
			}
			r.add(out.Records...)
			r.details(ctx)
		})
	}
	for range shards {
		sel.Select(ctx)
		if r.result.Aborted != "" {
			break
		}
	}
	return fireAt, len(shards)
}

// activityOptions sizes a batch's timeouts: the wait for the common instant,
// then waves of requests each bounded by the request timeout. A batch that
// no worker picks up waits in the task queue at most until the run's
// deadline (-timeout), plus the time its tries may take: after the deadline
// nothing new is sent, so a run without a worker ends too.
func (r *run) activityOptions(ctx workflow.Context, deadline time.Time, summary string, waves int, lead time.Duration) workflow.ActivityOptions {
	startToClose := lead + time.Duration(waves)*(r.in.RequestTimeout+5*time.Second) + 30*time.Second
	const attempts = 3
	// The retry intervals: 1 s, then 2 s.
	scheduleToClose := max(deadline.Sub(workflow.Now(ctx)), 0) + attempts*startToClose + 3*time.Second
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: scheduleToClose,
		StartToCloseTimeout:    startToClose,
		HeartbeatTimeout:       heartbeatTimeout,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumAttempts:    attempts,
		},
	}
}

// add records completed requests, and marks the run aborted on the first
// response that makes the rest pointless.
func (r *run) add(recs ...record.Request) {
	for _, rec := range recs {
		r.records[rec.Pass] = append(r.records[rec.Pass], rec)
		if !r.done[rec.Pass][rec.Index] {
			if r.done[rec.Pass] == nil {
				r.done[rec.Pass] = map[int]bool{}
			}
			r.done[rec.Pass][rec.Index] = true
			r.progress[rec.Pass].Done++
		}
		r.events = append(r.events, EventOf(rec))
		if r.result.Aborted == "" && rec.Fatal() {
			r.result.Aborted = record.FatalReason(rec)
		}
	}
}

// finishPass stores a pass's summary over all its records, and the records
// no batch reported (see PassResult).
func (r *run) finishPass(pass string, fireAt time.Time, shards int) *PassResult {
	recs := CollapseAttempts(r.records[pass])
	s := analysis.Summarize(recs)
	r.progress[pass].Summary = &s
	pr := &PassResult{Pass: pass, FireAt: fireAt, Shards: shards, Summary: s, Records: append([]record.Request{}, r.own[pass]...)}
	sort.SliceStable(pr.Records, func(i, j int) bool { return pr.Records[i].Index < pr.Records[j].Index })
	if pass == record.PassSequential {
		pr.Shards = len(recs)
	}
	return pr
}

func (r *run) query(from int) (Progress, error) {
	if from < 0 || from > len(r.events) {
		from = len(r.events)
	}
	p := Progress{
		Phase:      r.phase,
		Config:     r.result.Config,
		Endpoint:   r.result.Endpoint,
		Sequential: *r.progress[record.PassSequential],
		Concurrent: *r.progress[record.PassConcurrent],
		Events:     append([]ProgressEvent(nil), r.events[from:]...),
		Next:       len(r.events),
		Aborted:    r.result.Aborted,
	}
	for _, level := range r.in.Sweep {
		p.Sweep = append(p.Sweep, SweepProgress{Concurrency: level, Pass: SweepPass(level), PassProgress: *r.progress[SweepPass(level)]})
	}
	return p, nil
}

// addUnreported records requests that no batch reported.
func (r *run) addUnreported(recs ...record.Request) {
	for _, rec := range recs {
		r.own[rec.Pass] = append(r.own[rec.Pass], rec)
	}
	r.add(recs...)
}

// batchFailed records the requests of a batch that failed for good: those
// that its last attempt had answered, as its last heartbeat reported them
// (when the attempt's worker was lost), and the others as failed.
func (r *run) batchFailed(pass string, specs []activities.RequestSpec, err error) {
	answered := map[int]bool{}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) && timeoutErr.HasLastHeartbeatDetails() {
		var p activities.SendProgress
		if timeoutErr.LastHeartbeatDetails(&p) == nil {
			want := map[int]bool{}
			for _, s := range specs {
				want[s.Index] = true
			}
			for _, rec := range p.Records {
				if want[rec.Index] && !answered[rec.Index] && rec.Pass == pass {
					answered[rec.Index] = true
					r.addUnreported(rec)
				}
			}
		}
	}
	for _, s := range specs {
		if !answered[s.Index] {
			r.addUnreported(notSent(pass, s, r.in.Model, "the worker could not run the request: "+err.Error()))
		}
	}
}

func notSent(pass string, spec activities.RequestSpec, model, why string) record.Request {
	return record.Request{Index: spec.Index, Pass: pass, Prompt: spec.Prompt, Model: model, Error: why}
}

// ShardSpec is one activity's share of the concurrent pass.
type ShardSpec struct {
	Requests    []activities.RequestSpec
	Concurrency int
}

// Shard splits the requests over at most maxShards activities (and at most
// concurrency, so each has at least one slot), round robin, and splits the
// concurrency among them so that the shards together keep exactly
// concurrency requests in flight.
func Shard(specs []activities.RequestSpec, concurrency, maxShards int) []ShardSpec {
	n := min(len(specs), concurrency, maxShards)
	if n < 1 {
		return nil
	}
	shards := make([]ShardSpec, n)
	for i, s := range specs {
		shards[i%n].Requests = append(shards[i%n].Requests, s)
	}
	for i := range shards {
		shards[i].Concurrency = concurrency / n
		if i < concurrency%n {
			shards[i].Concurrency++
		}
		shards[i].Concurrency = min(shards[i].Concurrency, len(shards[i].Requests))
	}
	return shards
}

// AutoFireLead is the default time between scheduling the concurrent pass and
// its common send instant: enough for the server to hand every shard to a
// worker (the Temporal dev server starts a few hundred activities a second).
func AutoFireLead(shards int) time.Duration {
	return 500*time.Millisecond + time.Duration(shards)*10*time.Millisecond
}

// ConnectLead is the time added to AutoFireLead for the worker to open, before
// the instant, the connections of concurrency requests sent at once (TCP,
// TLS handshake, HTTP/2 SETTINGS; over HTTPS with HTTP/1.1, a thousand
// handshakes took more than a second on a busy 2-core machine): 2 ms per
// request in flight.
func ConnectLead(concurrency int) time.Duration {
	return time.Duration(max(concurrency, 0)) * 2 * time.Millisecond
}
