package workflows_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/workflows"
)

// TestReplayGuardsWarmupAndOrder: a run recorded before the warm-up and the
// pass order existed replays even when its input asks for both (as the input
// of a run started by a newer starter but begun by an older worker would):
// without the version marker in its history, the workflow takes the old
// path. (Without the guard this replay fails with TMPRL1100: checked by
// hand when it was written.)
func TestReplayGuardsWarmupAndOrder(t *testing.T) {
	raw, err := os.ReadFile(historyFile)
	require.NoError(t, err)
	hist, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
	require.NoError(t, err)
	dc := converter.GetDefaultDataConverter()
	attrs := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs)
	var in workflows.RunInput
	require.NoError(t, dc.FromPayloads(attrs.GetInput(), &in))
	in.Warmup, in.Order = 2, workflows.OrderConcurrentFirst
	payloads, err := dc.ToPayloads(in)
	require.NoError(t, err)
	attrs.Input = payloads

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))
}
