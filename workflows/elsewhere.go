package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/activities"
)

// versionEndpointResend is the change ID of the resend of an activity that a
// worker without the run's endpoint picked up (several workers on one task
// queue with different allow-lists): the activity is scheduled again,
// without eager execution, so that the task queue hands it to another
// worker, up to maxEndpointResends times. Runs recorded before it (no
// marker) replay as they ran: the activity's requests were recorded as not
// run, or the run ended as invalid input.
const versionEndpointResend = "endpoint-resend"

// maxEndpointResends bounds the resends of one activity: with one worker in
// k lacking the endpoint, each resend lands on such a worker again with a
// chance of about 1/k, so ten leave (1/k)^10; a run whose endpoint no
// worker serves ends after them (as invalid input, or with the requests
// recorded as not run).
const maxEndpointResends = 10

// unknownEndpoint reports whether err is the failure of an activity run by a
// worker that does not serve the run's endpoint.
func unknownEndpoint(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.UnknownEndpointErrorType
}

// elsewhere reports whether an activity that failed with err after n
// resends is to be sent again to another worker (see versionEndpointResend).
func elsewhere(ctx workflow.Context, err error, n int) bool {
	if !unknownEndpoint(err) || n >= maxEndpointResends {
		return false
	}
	return workflow.GetVersion(ctx, versionEndpointResend, workflow.DefaultVersion, 1) >= 1
}

// notEager is actx's activity options without eager execution, so that
// the server hands the activity to whichever worker polls for it rather
// than back to the worker that ran the workflow task.
func notEager(actx workflow.Context) workflow.Context {
	opts := workflow.GetActivityOptions(actx)
	opts.DisableEagerExecution = true
	if opts.Summary != "" {
		opts.Summary += " (again: a worker without the endpoint had it)"
	}
	return workflow.WithActivityOptions(actx, opts)
}

// execute runs the activity called name and waits for its result in out,
// sending it again to another worker while a worker without the run's
// endpoint picks it up (see elsewhere).
func execute(ctx, actx workflow.Context, name string, in, out any) error {
	for n := 0; ; n++ {
		err := workflow.ExecuteActivity(actx, name, in).Get(ctx, out)
		if err == nil || !elsewhere(ctx, err, n) {
			return err
		}
		actx = notEager(actx)
	}
}

// sendShard schedules the shard in on sel, counted in pending until its
// outcome is in: its records, or its requests recorded as failed. A shard
// that a worker without the run's endpoint picked up goes to another (see
// elsewhere).
func (st *state) sendShard(ctx, actx workflow.Context, sel workflow.Selector, pending *int, in activities.SendInput) {
	resends := 0
	var done func(f workflow.Future)
	done = func(f workflow.Future) {
		*pending--
		var out activities.SendOutput
		if err := f.Get(ctx, &out); err != nil {
			if temporal.IsCanceledError(err) {
				// Cancelled with the run (not by an abort, which leaves
				// out what it did not send): its requests stay in the
				// result, marked.
				if ctx.Err() != nil {
					st.batchFailed(in.Pass, in.Requests, err)
				}
				return
			}
			if elsewhere(ctx, err, resends) {
				resends++
				actx = notEager(actx)
				*pending++
				sel.AddFuture(workflow.ExecuteActivity(actx, activities.SendActivity, in), done)
				return
			}
			st.batchFailed(in.Pass, in.Requests, err)
			return
		}
		st.add(out.Records...)
		st.details(ctx)
	}
	*pending++
	sel.AddFuture(workflow.ExecuteActivity(actx, activities.SendActivity, in), done)
}
