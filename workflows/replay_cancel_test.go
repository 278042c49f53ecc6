package workflows_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// The histories of cancelled runs and comparisons, recorded as
// docs/versioning.md says (a dev server, the simulator with -latency 2s
// -api-key replay-test-key-not-real, a worker in front of it) with
//
//	starter -id ID -requests 3 -max-tokens 8
//	starter -id ID -model gpt-4.1-nano,gpt-4.1-mini -requests 3 -max-tokens 8
//
// and `temporal workflow cancel -w ID` 3.5 s later (during the sequential
// pass's first request, or the first target's), then `temporal workflow
// show -w ID --output json`. The "before" ones ran on a worker built before
// the change "cancelled-ends-cancelled" (commit 75bdf05): they ended
// completed. The others ran on a worker built with it: they ended
// cancelled, and the run waited for its batch in flight, whose answer
// arrived after the cancellation was asked for.
const (
	cancelledBeforeFile           = "testdata/cancelled_before_history.json"
	cancelledFile                 = "testdata/cancelled_history.json"
	comparisonCancelledBeforeFile = "testdata/comparison_cancelled_before_history.json"
	comparisonCancelledFile       = "testdata/comparison_cancelled_history.json"
)

// closedAs is the event type of the last event of hist.
func closedAs(hist *historypb.History) enumspb.EventType {
	evs := hist.GetEvents()
	return evs[len(evs)-1].GetEventType()
}

// cancelledHistory reads the history in file and checks that it is one of
// a cancelled run or comparison, closed as closed, holding no key, and
// holding the change's marker when marked.
func cancelledHistory(t *testing.T, file string, closed enumspb.EventType, marked bool) *historypb.History {
	t.Helper()
	raw, hist := readHistory(t, file)
	assert.NotContains(t, string(raw), replayFakeKey)
	require.True(t, cancelRequested(hist), "a cancelled run or comparison")
	assert.Equal(t, closed, closedAs(hist))
	_, ids := markers(hist)
	assert.Equal(t, marked, strings.Contains(ids, "cancelled-ends-cancelled"))
	return hist
}

// cancelRequested reports whether hist holds a cancellation request.
func cancelRequested(hist *historypb.History) bool {
	for _, ev := range hist.GetEvents() {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED {
			return true
		}
	}
	return false
}

// answeredAfterCancel reports whether a batch of hist completed after its
// cancellation was asked for.
func answeredAfterCancel(hist *historypb.History) bool {
	asked := false
	for _, ev := range hist.GetEvents() {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
			asked = true
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if asked {
				return true
			}
		}
	}
	return false
}

// alwaysCancelled is ConcurrencyTest without the guard: a cancelled run
// ends cancelled whatever its history says.
func alwaysCancelled(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
	r, err := workflows.ConcurrencyTest(ctx, in)
	if ctx.Err() != nil && err == nil {
		return r, temporal.NewCanceledError(r)
	}
	return r, err
}

// TestReplayCancelledRunHistories replays a run cancelled before the change
// (it ended completed, and replays so: no marker, the old path) and one
// cancelled after it (the marker, and the run ends cancelled). Without the
// guard, the old run's replay fails.
func TestReplayCancelledRunHistories(t *testing.T) {
	for _, tc := range []struct {
		file   string
		closed enumspb.EventType
		marked bool
	}{
		{cancelledBeforeFile, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, false},
		{cancelledFile, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			hist := cancelledHistory(t, tc.file, tc.closed, tc.marked)
			require.NoError(t, startedInput(t, hist).Validate())
			if tc.marked {
				assert.True(t, answeredAfterCancel(hist), "the run waited for its batch in flight")
			}

			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(workflows.ConcurrencyTest)
			require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))
		})
	}
	_, hist := readHistory(t, cancelledBeforeFile)
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(alwaysCancelled, workflow.RegisterOptions{Name: "ConcurrencyTest"})
	err := replayer.ReplayWorkflowHistory(quietLogger(), hist)
	require.Error(t, err, "without the guard, a run cancelled before the change must not replay")
}

// TestReplayCancelledComparisonHistories does the same for comparisons.
func TestReplayCancelledComparisonHistories(t *testing.T) {
	for _, tc := range []struct {
		file, id string
		closed   enumspb.EventType
		marked   bool
	}{
		{comparisonCancelledBeforeFile, "replay-comparison-cancelled-before", enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, false},
		{comparisonCancelledFile, "replay-comparison-cancelled", enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, true},
	} {
		t.Run(tc.id, func(t *testing.T) {
			hist := cancelledHistory(t, tc.file, tc.closed, tc.marked)
			require.NoError(t, comparisonStarted(t, hist).Validate())
			require.NoError(t, replayComparison(hist, tc.id, workflows.ConcurrencyComparison))
		})
	}
}
