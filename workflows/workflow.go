package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// AbortedErrorType is the ApplicationError type of a run that ended early.
// Its details hold the testrun.Result measured so far.
const AbortedErrorType = "RunAborted"

// InvalidInputErrorType is the ApplicationError type of a run whose input was
// rejected before any request was sent.
const InvalidInputErrorType = "InvalidInput"

// heartbeatTimeout is how long Temporal waits for a batch's heartbeat before
// it takes the batch's worker for lost and retries the batch on another
// (which resumes from the last heartbeat; see activities.Send). A batch
// heartbeats at least every 3 s, so 20 s tolerates several slow heartbeats
// (a concurrent pass of 10,000 on a busy 2-core machine had its heartbeat
// calls time out for more than 10 s while the answers came in, and
// batches retried for nothing) and still notices a dead worker within
// seconds rather than at the batch's start-to-close timeout.
const heartbeatTimeout = 20 * time.Second

// state is what the workflow knows of its run as it goes, shared with the
// progress query.
type state struct {
	in       testrun.Input
	result   testrun.Result
	phase    string
	events   []testrun.ProgressEvent
	progress map[record.Pass]*testrun.PassProgress
	records  map[record.Pass][]record.Request
	// notSent holds, per pass, the requests that no batch reported (see
	// testrun.PassResult.NotSent).
	notSent map[record.Pass][]testrun.NotSent
	// done marks, per pass, the requests with at least one answer.
	done map[record.Pass]map[int]bool
	// stream is whether the requests are streamed: in.Stream, unless the
	// warm-up showed that the endpoint does not stream (see warmup).
	stream bool
	// cancelEnds is set for a run started since versionCancelled: when it
	// is cancelled, it waits for its batches in flight to stop (and return
	// what they measured), then ends cancelled.
	cancelEnds bool
}

// ConcurrencyTest is the workflow: one run of the concurrency test. Its
// input comes complete from the starter (testrun.Input.WithDefaults) and is
// used as given (see checkInput and docs/versioning.md).
func ConcurrencyTest(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
	in, err := checkInput(ctx, in)
	if err != nil {
		return testrun.Result{}, temporal.NewNonRetryableApplicationError(err.Error(), InvalidInputErrorType, nil)
	}
	st := newState(ctx, in)
	st.cancelEnds = workflow.GetVersion(ctx, versionCancelled, workflow.DefaultVersion, 1) >= 1
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, st.query); err != nil {
		return testrun.Result{}, fmt.Errorf("register the progress query: %w", err)
	}
	if err := st.describeEndpoint(ctx); err != nil {
		return testrun.Result{}, err
	}
	deadline := st.result.StartedAt.Add(in.Timeout)
	st.passes(ctx, deadline)
	st.sweep(ctx, deadline)
	return st.end(ctx)
}

// versionInputAsGiven is the change ID of the input used as given: the
// starter resolves the defaults and checks the limits before it starts a
// run, so that a change of a default or a limit cannot change the commands
// of a run in flight. Runs recorded before it (no marker) replay as they
// ran: the workflow applies the defaults and the checks itself.
const versionInputAsGiven = "input-as-given"

// checkInput returns the input the run uses, or why it is not valid. For a
// run started before versionInputAsGiven, that is the input with the
// defaults of this build. Otherwise it is the input as given, and the check
// (there for a run started by other means than the starter, which has
// checked already) is a side effect: its outcome is recorded in the history
// when the run starts, so a later change of a limit cannot turn the replay
// of a run in flight into a rejection.
func checkInput(ctx workflow.Context, in testrun.Input) (testrun.Input, error) {
	if workflow.GetVersion(ctx, versionInputAsGiven, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		in = in.WithDefaults()
		return in, in.Validate()
	}
	var problem string
	check := workflow.SideEffect(ctx, func(workflow.Context) any {
		if err := in.Validate(); err != nil {
			return err.Error()
		}
		return ""
	})
	if err := check.Get(&problem); err != nil {
		return in, fmt.Errorf("read the check of the input: %w", err)
	}
	if problem != "" {
		return in, errors.New(problem)
	}
	return in, nil
}

// newState is the state of a run that starts now.
func newState(ctx workflow.Context, in testrun.Input) *state {
	st := &state{
		in:       in,
		phase:    testrun.PhaseStarting,
		progress: map[record.Pass]*testrun.PassProgress{record.PassSequential: {}, record.PassConcurrent: {}},
		records:  map[record.Pass][]record.Request{},
		notSent:  map[record.Pass][]testrun.NotSent{},
		done:     map[record.Pass]map[int]bool{},
		stream:   in.Stream,
	}
	cfg := in
	cfg.Prompts = nil
	st.result = testrun.Result{Config: cfg, StartedAt: workflow.Now(ctx)}
	if in.RunsSequential() {
		st.progress[record.PassSequential].Total = len(in.Indices(record.PassSequential))
	}
	if in.RunsConcurrent() {
		st.progress[record.PassConcurrent].Total = len(in.Indices(record.PassConcurrent))
	}
	for _, level := range in.Sweep {
		st.progress[record.SweepPass(level)] = &testrun.PassProgress{Total: len(in.Indices(record.SweepPass(level)))}
	}
	return st
}

// describeEndpoint asks the worker for the endpoint the run measures. A
// worker that does not serve it makes the input invalid.
func (st *state) describeEndpoint(ctx workflow.Context) error {
	ectx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Without a worker for the whole of -timeout the run gives up
		// rather than wait for one for ever.
		ScheduleToCloseTimeout: st.in.Timeout + 30*time.Second,
		StartToCloseTimeout:    30 * time.Second,
		Summary:                "describe the worker's endpoint",
	})
	err := execute(ctx, ectx, activities.DescribeEndpointActivity, activities.DescribeInput{Endpoint: st.in.Endpoint}, &st.result.Endpoint)
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.UnknownEndpointErrorType {
		return temporal.NewNonRetryableApplicationError(appErr.Message(), InvalidInputErrorType, nil)
	}
	return fmt.Errorf("ask the worker for its endpoint: %w", err)
}

// passes sends the warm-up, then the sequential and the concurrent pass in
// the input's order.
func (st *state) passes(ctx workflow.Context, deadline time.Time) {
	in := st.in
	order := []record.Pass{record.PassSequential, record.PassConcurrent}
	// Runs recorded before the warm-up and the pass order replay as they
	// ran: no warm-up, sequential pass first.
	if workflow.GetVersion(ctx, versionWarmupOrder, workflow.DefaultVersion, 1) >= 1 {
		// A rerun of failed requests (Only) resends exactly those.
		if in.Warmup > 0 && in.Only == nil {
			st.enter(ctx, string(record.PassWarmup))
			st.warmup(ctx, deadline)
		}
		if in.Order == testrun.OrderConcurrentFirst {
			order = []record.Pass{record.PassConcurrent, record.PassSequential}
		}
	}
	for _, pass := range order {
		if st.result.Aborted != "" {
			break
		}
		switch {
		case pass == record.PassSequential && in.RunsSequential() && in.Sends(record.PassSequential):
			st.enter(ctx, string(record.PassSequential))
			st.sequential(ctx, deadline)
			st.result.Sequential = st.finishPass(record.PassSequential, time.Time{}, in.Requests)
		case pass == record.PassConcurrent && in.RunsConcurrent() && in.Sends(record.PassConcurrent):
			st.enter(ctx, string(record.PassConcurrent))
			fireAt, shards := st.concurrent(ctx, deadline, record.PassConcurrent, in.Concurrency)
			st.result.Concurrent = st.finishPass(record.PassConcurrent, fireAt, shards)
		}
	}
}

// sweep sends one concurrent pass per sweep level, in the input's order.
func (st *state) sweep(ctx workflow.Context, deadline time.Time) {
	for _, level := range st.in.Sweep {
		if st.result.Aborted != "" {
			break
		}
		pass := record.SweepPass(level)
		if !st.in.Sends(pass) {
			continue
		}
		st.enter(ctx, string(pass))
		fireAt, shards := st.concurrent(ctx, deadline, pass, level)
		pr := st.finishPass(pass, fireAt, shards)
		pr.Concurrency = level
		st.result.Sweep = append(st.result.Sweep, pr)
	}
}

// end closes the run: its last phase, its verdict, and its result, which an
// aborted or cancelled run returns as the details of its error.
func (st *state) end(ctx workflow.Context) (testrun.Result, error) {
	if st.stopped(ctx) && st.result.Aborted == "" {
		st.result.Aborted = CancelledReason
	}
	st.result.FinishedAt = workflow.Now(ctx)
	if st.result.Aborted != "" {
		st.enter(ctx, testrun.PhaseAborted)
	} else {
		st.enter(ctx, testrun.PhaseDone)
	}
	if err := st.upsertVerdict(ctx); err != nil {
		return testrun.Result{}, err
	}
	if st.stopped(ctx) {
		return endCancelled(st.result)
	}
	if st.result.Aborted != "" {
		return testrun.Result{}, temporal.NewNonRetryableApplicationError(st.result.Aborted, AbortedErrorType, nil, st.result)
	}
	return st.result, nil
}

// sequential sends the requests one after another: request i+1 is scheduled
// only after the activity of request i has returned.
func (st *state) sequential(ctx workflow.Context, deadline time.Time) {
	for _, i := range st.in.Indices(record.PassSequential) {
		spec := activities.RequestSpec{Index: i, Prompt: st.in.Prompts[i]}
		if why := st.notSending(ctx, deadline); why != "" {
			st.addNotSent(record.PassSequential, spec, why)
			continue
		}
		for attempt := int32(1); ; attempt++ {
			summary := fmt.Sprintf("sequential #%d", i+1)
			if attempt > 1 {
				summary += fmt.Sprintf(" (try %d)", attempt)
			}
			actx := workflow.WithActivityOptions(ctx, st.activityOptions(ctx, deadline, summary, 1, 0))
			var out activities.SendOutput
			in := activities.SendInput{
				Endpoint:       st.in.Endpoint,
				Pass:           record.PassSequential,
				Requests:       []activities.RequestSpec{spec},
				Model:          st.in.Model,
				MaxTokens:      st.in.MaxTokens,
				Concurrency:    1,
				RequestTimeout: st.in.RequestTimeout,
				StopOnFatal:    true,
				Stream:         st.stream,
			}
			if attempt > 1 {
				in.Attempt = attempt
			}
			err := execute(ctx, actx, activities.SendActivity, in, &out)
			if err != nil {
				st.batchFailed(record.PassSequential, in.Requests, err)
				break
			}
			st.add(out.Records...)
			st.details(ctx)
			if st.result.Aborted != "" {
				return
			}
			if len(out.Records) != 1 || !retrying(st.in, out.Records[0]) || !workflow.Now(ctx).Before(deadline) {
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
func (st *state) concurrent(ctx workflow.Context, deadline time.Time, pass record.Pass, concurrency int) (time.Time, int) {
	indices := st.in.Indices(pass)
	specs := make([]activities.RequestSpec, len(indices))
	for i, idx := range indices {
		specs[i] = activities.RequestSpec{Index: idx, Prompt: st.in.Prompts[idx]}
	}
	st.schedule(pass, specs)
	if why := st.notSending(ctx, deadline); why != "" {
		for _, s := range specs {
			st.addNotSent(pass, s, why)
		}
		return time.Time{}, 0
	}
	fireAt, shards := st.fire(ctx, pass, specs, concurrency, 0)
	// -retry backoff: resend what was rate-limited or failed on the
	// server's side, all together again, after the longest Retry-After.
	for attempt := int32(2); st.in.Retry == testrun.RetryBackoff && st.result.Aborted == "" && !st.stopped(ctx); attempt++ {
		var again []record.Request
		for _, rec := range testrun.CollapseAttempts(st.records[pass]) {
			if retrying(st.in, rec) {
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
			retry[i] = activities.RequestSpec{Index: rec.Index, Prompt: st.in.Prompts[rec.Index]}
		}
		st.fire(ctx, pass, retry, min(concurrency, len(retry)), attempt)
	}
	return fireAt, shards
}

// fire sends specs in shards that all start at one common instant, and
// returns that instant with the number of shards. attempt numbers a resend
// (0 for the first).
func (st *state) fire(ctx workflow.Context, pass record.Pass, specs []activities.RequestSpec, concurrency int, attempt int32) (time.Time, int) {
	shards := Shard(specs, concurrency, st.in.MaxShards)
	lead := st.in.FireLead
	if lead == 0 {
		lead = testrun.AutoFireLead(len(shards)) + testrun.ConnectLead(concurrency)
	}
	fireAt := workflow.Now(ctx).Add(lead)

	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	pending := 0
	for i, sh := range shards {
		waves := (len(sh.Requests) + sh.Concurrency - 1) / sh.Concurrency
		summary := shardSummary(pass, i, len(shards), sh, attempt)
		opts := st.activityOptions(ctx, st.result.StartedAt.Add(st.in.Timeout), summary, waves, lead+lastOffset(sh.Requests))
		// Shards go to whichever workers poll the task queue, not all back
		// to the worker that ran this workflow task (docs/workers.md).
		opts.DisableEagerExecution = len(shards) > 1
		actx := workflow.WithActivityOptions(cctx, opts)
		in := activities.SendInput{
			Endpoint:       st.in.Endpoint,
			Pass:           pass,
			Requests:       sh.Requests,
			Model:          st.in.Model,
			MaxTokens:      st.in.MaxTokens,
			Concurrency:    sh.Concurrency,
			FireAt:         fireAt,
			RequestTimeout: st.in.RequestTimeout,
			StopOnFatal:    true,
			Stream:         st.stream,
			Attempt:        attempt,
		}
		st.sendShard(ctx, actx, sel, &pending, in)
	}
	for pending > 0 {
		sel.Select(ctx)
		if st.result.Aborted != "" {
			break
		}
	}
	return fireAt, len(shards)
}

// shardSummary is what the Temporal UI shows of shard i of n: the request it
// sends, or its share of the pass.
func shardSummary(pass record.Pass, i, n int, sh ShardSpec, attempt int32) string {
	summary := fmt.Sprintf("%s #%d", pass, sh.Requests[0].Index+1)
	if len(sh.Requests) > 1 {
		summary = fmt.Sprintf("%s shard %d/%d: %d requests, %d at a time", pass, i+1, n, len(sh.Requests), sh.Concurrency)
	}
	if attempt > 1 {
		summary += fmt.Sprintf(" (try %d)", attempt)
	}
	return summary
}

// activityOptions sizes a batch's timeouts: the wait for the common instant,
// then waves of requests each bounded by the request timeout. A batch that
// no worker picks up waits in the task queue at most until the run's
// deadline (-timeout), plus the time its tries may take: after the deadline
// nothing new is sent, so a run without a worker ends too.
func (st *state) activityOptions(ctx workflow.Context, deadline time.Time, summary string, waves int, lead time.Duration) workflow.ActivityOptions {
	startToClose := lead + time.Duration(waves)*(st.in.RequestTimeout+5*time.Second) + 30*time.Second
	const attempts = 3
	// The retry intervals: 1 s, then 2 s.
	scheduleToClose := max(deadline.Sub(workflow.Now(ctx)), 0) + attempts*startToClose + 3*time.Second
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: scheduleToClose,
		StartToCloseTimeout:    startToClose,
		HeartbeatTimeout:       heartbeatTimeout,
		Summary:                summary,
		// A cancelled run waits for its batches to stop and return what
		// they measured (see versionCancelled).
		WaitForCancellation: st.cancelEnds,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumAttempts:    attempts,
		},
	}
}

// add records completed requests, and marks the run aborted on the first
// response that makes the rest pointless.
func (st *state) add(recs ...record.Request) {
	for _, rec := range recs {
		st.records[rec.Pass] = append(st.records[rec.Pass], rec)
		if !st.done[rec.Pass][rec.Index] {
			if st.done[rec.Pass] == nil {
				st.done[rec.Pass] = map[int]bool{}
			}
			st.done[rec.Pass][rec.Index] = true
			st.progress[rec.Pass].Done++
		}
		st.events = append(st.events, testrun.EventOf(rec))
		if st.result.Aborted == "" && rec.Fatal() {
			st.result.Aborted = record.FatalReason(rec)
		}
	}
}

// finishPass stores a pass's summary over all its records, and the records
// no batch reported (see testrun.PassResult).
func (st *state) finishPass(pass record.Pass, fireAt time.Time, shards int) *testrun.PassResult {
	recs := testrun.CollapseAttempts(st.records[pass])
	s := analysis.Summarize(recs)
	st.progress[pass].Summary = &s
	pr := &testrun.PassResult{Pass: pass, FireAt: fireAt, Shards: shards, Summary: s,
		Records: []record.Request{}, NotSent: append([]testrun.NotSent{}, st.notSent[pass]...)}
	if pass == record.PassSequential {
		pr.Shards = len(recs)
	}
	if pass == record.PassConcurrent && st.in.Paced() {
		pr.TargetRate = st.in.Rate
	}
	return pr
}

func (st *state) query(from int) (testrun.Progress, error) {
	events, next, more := eventsFrom(st.events, from)
	p := testrun.Progress{
		Phase:      st.phase,
		Config:     st.result.Config,
		Endpoint:   st.result.Endpoint,
		Sequential: *st.progress[record.PassSequential],
		Concurrent: *st.progress[record.PassConcurrent],
		Events:     events,
		Next:       next,
		More:       more,
		Aborted:    st.result.Aborted,
	}
	for _, level := range st.in.Sweep {
		p.Sweep = append(p.Sweep, testrun.SweepProgress{Concurrency: level, Pass: record.SweepPass(level), PassProgress: *st.progress[record.SweepPass(level)]})
	}
	return p, nil
}

// addNotSent records a request that no batch reported: in the pass's
// figures as a failed record, and in the result as an index (see
// testrun.PassResult.NotSent).
func (st *state) addNotSent(pass record.Pass, spec activities.RequestSpec, why string) {
	st.notSent[pass] = testrun.AddNotSent(st.notSent[pass], spec.Index, why)
	st.add(notSent(pass, spec, st.in.Model, why))
}

// batchFailed records the requests of a batch that failed for good: those
// that it had answered (see returned), and the others as failed.
func (st *state) batchFailed(pass record.Pass, specs []activities.RequestSpec, err error) {
	answered := map[int]bool{}
	for _, rec := range returned(pass, specs, err) {
		answered[rec.Index] = true
		st.add(rec)
	}
	why := "the worker could not run the request: " + err.Error()
	if temporal.IsCanceledError(err) {
		why = "cancelled with the run before its answer was recorded (if it was sent, the endpoint may have answered it)"
	}
	for _, s := range specs {
		if !answered[s.Index] {
			st.addNotSent(pass, s, why)
		}
	}
}

// returned is what a batch that failed for good had measured: the records
// a batch cancelled with its run returned, or those its last attempt had
// reported in its last heartbeat, when its worker was lost. The latter stay
// in the history (the batch's timeout holds its last heartbeat), where the
// starter reads them: in the result they could pass its 2 MiB.
func returned(pass record.Pass, specs []activities.RequestSpec, err error) []record.Request {
	var canErr *temporal.CanceledError
	if errors.As(err, &canErr) && canErr.HasDetails() {
		var out activities.SendOutput
		if canErr.Details(&out) == nil {
			return out.Records
		}
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) && timeoutErr.HasLastHeartbeatDetails() {
		var p activities.SendProgress
		if timeoutErr.LastHeartbeatDetails(&p) == nil {
			return activities.Salvaged(pass, specs, p)
		}
	}
	return nil
}

func notSent(pass record.Pass, spec activities.RequestSpec, model, why string) record.Request {
	return testrun.NotSentRecord(pass, spec.Index, spec.Prompt, model, why)
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
