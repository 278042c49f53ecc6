package workflows_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestCancelledRunEndsCancelled: a run cancelled in the middle of its
// sequential pass sends nothing more and ends cancelled (not completed),
// with what it measured as the details of its cancellation, saying why it
// ended early.
func TestCancelledRunEndsCancelled(t *testing.T) {
	f := newFakeSend()
	env := newEnvEvery(t, f, time.Second)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2500*time.Millisecond)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(5).WithDefaults())
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var canErr *temporal.CanceledError
	require.True(t, errors.As(err, &canErr), "the run must end cancelled, got %v", err)
	require.True(t, canErr.HasDetails(), "a cancelled run carries what it measured")
	var r testrun.Result
	require.NoError(t, canErr.Details(&r))
	assert.Equal(t, workflows.CancelledReason, r.Aborted)
	assert.Equal(t, testrun.VerdictAborted, testrun.HeadlineOf(r).Verdict)
	assert.False(t, r.FinishedAt.IsZero())
	assert.Empty(t, f.callsOf(record.PassConcurrent), "nothing is sent after the cancellation")
	f.complete(&r)
	require.NotNil(t, r.Sequential)
	var ok int
	for _, rec := range r.Sequential.Records {
		if rec.OK {
			ok++
		}
	}
	assert.Equal(t, 2, ok, "the two answers before the cancellation are kept")
	require.NotNil(t, r.Concurrent)
	assert.Len(t, r.Concurrent.Records, 5, "the concurrent pass's requests stay in the result, never sent")
	for _, rec := range r.Concurrent.Records {
		assert.False(t, rec.OK)
		assert.Contains(t, rec.Error, "not sent: the run was cancelled")
	}
}

// TestCancelledComparisonEndsCancelled: a comparison cancelled during its
// first target's run starts no other target and ends cancelled, with its
// targets' outcomes as the details.
func TestCancelledComparisonEndsCancelled(t *testing.T) {
	f := newFakeChildren()
	_, err := runComparison(t, f, comparisonInput(false, "a", "b"), func(env *testsuite.TestWorkflowEnvironment) { env.CancelWorkflow() })
	var canErr *temporal.CanceledError
	require.True(t, errors.As(err, &canErr), "the comparison must end cancelled, got %v", err)
	var r testrun.ComparisonResult
	require.NoError(t, canErr.Details(&r))
	require.Len(t, r.Targets, 2)
	assert.Equal(t, "cmp-1-t1-a-m", r.Targets[0].WorkflowID)
	assert.NotEmpty(t, r.Targets[0].Error, "the first target's run was cancelled with it")
	assert.Empty(t, f.spans, "no target ran to its end")
}
