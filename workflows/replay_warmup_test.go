package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestReplayGuardsWarmupAndOrder: a run recorded before the warm-up and the
// pass order existed replays even when its input asks for both (as the input
// of a run started by a newer starter but begun by an older worker would):
// without the version marker in its history, the workflow takes the old
// path. (Without the guard this replay fails with TMPRL1100: checked by
// hand when it was written.)
func TestReplayGuardsWarmupAndOrder(t *testing.T) {
	_, hist := readHistory(t, historyFile)
	dc := converter.GetDefaultDataConverter()
	attrs := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs)
	var in testrun.Input
	require.NoError(t, dc.FromPayloads(attrs.GetInput(), &in))
	in.Warmup, in.Order = 2, testrun.OrderConcurrentFirst
	payloads, err := dc.ToPayloads(in)
	require.NoError(t, err)
	attrs.Input = payloads

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))
}

// TestReplayWarmupConcurrentFirstHistory replays a real run that took the
// new path: the version marker, one warm-up request, then the concurrent
// pass before the sequential one, streamed (the second run of -repeat 2,
// against the simulator capped at 2, recorded with
// temporal workflow show --output json).
func TestReplayWarmupConcurrentFirstHistory(t *testing.T) {
	const file = "testdata/warmup_concurrent_first_history.json"
	raw, hist := readHistory(t, file)
	dc := converter.GetDefaultDataConverter()
	var in testrun.Input
	require.NoError(t, dc.FromPayloads(hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), &in))
	require.Equal(t, 1, in.Warmup)
	require.Equal(t, testrun.OrderConcurrentFirst, in.Order)
	require.True(t, in.Stream)
	var passes []record.Pass
	markers := 0
	for _, ev := range hist.GetEvents() {
		if ev.GetMarkerRecordedEventAttributes() != nil {
			markers++
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activities.SendActivity {
			var si activities.SendInput
			require.NoError(t, dc.FromPayloads(a.GetInput(), &si))
			if len(passes) == 0 || passes[len(passes)-1] != si.Pass {
				passes = append(passes, si.Pass)
			}
		}
	}
	require.Equal(t, 1, markers, "the version marker")
	require.Equal(t, []record.Pass{record.PassWarmup, record.PassConcurrent, record.PassSequential}, passes)
	require.NotContains(t, string(raw), "sk-replay-fake-key")

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))
}
