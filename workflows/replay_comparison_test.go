package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// The comparisons' histories, recorded as docs/versioning.md says (a dev
// server, the simulator with -latency 200ms -api-key
// replay-test-key-not-real -models gpt-4.1-nano,gpt-4.1-mini, a worker in
// front of it), with
//
//	starter -id replay-comparison -model gpt-4.1-nano,gpt-4.1-mini -requests 3 -max-tokens 8
//	starter -id replay-comparison-parallel -model gpt-4.1-nano,no-such-model -parallel-targets -requests 3 -max-tokens 8
//
// then `temporal workflow show -w ID --output json`. The second's target 2
// asks for a model the simulator does not serve: its run ends early (404).
const (
	comparisonFile         = "testdata/comparison_history.json"
	comparisonParallelFile = "testdata/comparison_parallel_failed_history.json"
)

// comparisonStarted is the input a comparison's history starts with.
func comparisonStarted(t *testing.T, hist *historypb.History) testrun.ComparisonInput {
	t.Helper()
	var in testrun.ComparisonInput
	attrs := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs)
	require.Equal(t, workflows.ComparisonWorkflowName, attrs.GetWorkflowType().GetName())
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in))
	return in
}

// childStarts lists the workflow IDs of the child runs a history starts,
// in order, and how many events come between the first and the last start.
func childStarts(hist *historypb.History) (ids []string, first, last int) {
	for i, ev := range hist.GetEvents() {
		if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			if len(ids) == 0 {
				first = i
			}
			ids, last = append(ids, a.GetWorkflowId()), i
		}
	}
	return ids, first, last
}

// TestReplayComparisonHistory replays two recorded comparisons: one of two
// targets one after another (the second child is started only after the
// first completed), and one of two targets at once whose second ended
// early. Each history is checked to be the comparison it means to cover,
// to hold no key, and to replay with today's ConcurrencyComparison.
func TestReplayComparisonHistory(t *testing.T) {
	for _, tc := range []struct {
		file, id string
		parallel bool
	}{{comparisonFile, "replay-comparison", false}, {comparisonParallelFile, "replay-comparison-parallel", true}} {
		t.Run(tc.id, func(t *testing.T) {
			raw, hist := readHistory(t, tc.file)
			assert.NotContains(t, string(raw), replayFakeKey)
			in := comparisonStarted(t, hist)
			require.NoError(t, in.Validate())
			assert.Equal(t, tc.parallel, in.Parallel)
			ids, first, last := childStarts(hist)
			require.Len(t, ids, 2)
			for i, tg := range in.Targets {
				assert.Equal(t, workflows.TargetWorkflowID(tc.id, i, tg), ids[i])
			}
			completedBetween := false
			for _, ev := range hist.GetEvents()[first:last] {
				completedBetween = completedBetween || ev.GetChildWorkflowExecutionCompletedEventAttributes() != nil
			}
			assert.Equal(t, !tc.parallel, completedBetween, "one after another, the second child starts after the first completed; at once, before")

			require.NoError(t, replayComparison(hist, tc.id, workflows.ConcurrencyComparison))
		})
	}
}

// TestReplayComparisonDetectsChange: the comparison's replay has teeth: a
// comparison that runs its targets in the other order fails to replay the
// recorded one. (Running them at once instead of one after another issues
// the same commands in the same order, which the SDK's replay accepts.)
func TestReplayComparisonDetectsChange(t *testing.T) {
	_, hist := readHistory(t, comparisonFile)
	reversed := func(ctx workflow.Context, in testrun.ComparisonInput) (testrun.ComparisonResult, error) {
		in.Targets[0], in.Targets[1] = in.Targets[1], in.Targets[0]
		return workflows.ConcurrencyComparison(ctx, in)
	}
	err := replayComparison(hist, "replay-comparison", reversed)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TMPRL1100")
}

// replayComparison replays hist, the history of comparison id, with
// workflow fn registered as ConcurrencyComparison. The children's IDs
// derive from the comparison's, so the replay runs under its recorded ID,
// as a worker's does.
func replayComparison(hist *historypb.History, id string, fn any) error {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: workflows.ComparisonWorkflowName})
	return replayer.ReplayWorkflowHistoryWithOptions(quietLogger(), hist, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: id, RunID: "replay"},
	})
}
