package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// versionCancelled is the change ID of a cancelled run or comparison
// ending cancelled. A run cancelled through Temporal (the UI's Cancel,
// `temporal workflow cancel`) used to go on to its end without sending
// anything more, and end completed, as if it had run its course; now it
// ends cancelled, with what it had measured as the details of its
// cancellation. The marker is recorded only when a run is cancelled, so
// every run that was not replays as it ran, and a cancelled run recorded
// before the change (no marker) ends completed again on replay.
const versionCancelled = "cancelled-ends-cancelled"

// CancelledReason is the reason a cancelled run gives for its early end
// (testrun.Result.Aborted).
const CancelledReason = "cancelled through Temporal (the UI's Cancel, or `temporal workflow cancel`) before it ended"

// cancelled reports whether the run (or comparison) of ctx was cancelled
// and ends cancelled: see versionCancelled.
func cancelled(ctx workflow.Context) bool {
	return errors.Is(ctx.Err(), workflow.ErrCanceled) &&
		workflow.GetVersion(ctx, versionCancelled, workflow.DefaultVersion, 1) >= 1
}

// endCancelled is the end of a cancelled run or comparison: cancelled, with
// result as the details.
func endCancelled[R any](result R) (R, error) {
	return result, temporal.NewCanceledError(result)
}
