package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// versionCancelled is the change ID of a cancelled run or comparison
// ending cancelled. A run cancelled through Temporal (the UI's Cancel,
// `temporal workflow cancel`) used to stop waiting for its batches in flight
// at once, losing what they had measured, go on to its end without sending
// anything more, and end completed, as if it had run its course. Now it
// waits for its batches to stop and return what they measured
// (WaitForCancellation), and ends cancelled, with its result as the details
// of its cancellation. A run asks for the version as it starts (the batches'
// options depend on it); a comparison, which waits for nothing, only when
// it is cancelled. Runs recorded before the change (no marker) replay as
// they ran.
const versionCancelled = "cancelled-ends-cancelled"

// CancelledReason is the reason a cancelled run gives for its early end
// (testrun.Result.Aborted).
const CancelledReason = "cancelled through Temporal (the UI's Cancel, or `temporal workflow cancel`) before it ended"

// cancelled reports whether the comparison of ctx was cancelled and ends
// cancelled: see versionCancelled.
func cancelled(ctx workflow.Context) bool {
	return errors.Is(ctx.Err(), workflow.ErrCanceled) &&
		workflow.GetVersion(ctx, versionCancelled, workflow.DefaultVersion, 1) >= 1
}

// endCancelled is the end of a cancelled run or comparison: cancelled, with
// result as the details.
func endCancelled[R any](result R) (R, error) {
	return result, temporal.NewCanceledError(result)
}

// stopped reports whether the run was cancelled, and so schedules nothing
// more (see versionCancelled): with WaitForCancellation, an activity
// scheduled on a cancelled context is still scheduled, then cancelled.
func (st *state) stopped(ctx workflow.Context) bool {
	return st.cancelEnds && ctx.Err() != nil
}

// notSending is why the run may send no more requests: it was cancelled,
// or its -timeout (deadline) has passed; "" while it may.
func (st *state) notSending(ctx workflow.Context, deadline time.Time) string {
	switch {
	case st.stopped(ctx):
		return "not sent: the run was cancelled"
	case !workflow.Now(ctx).Before(deadline):
		return "not sent: the run's -timeout had passed"
	}
	return ""
}
