package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/workflows"
)

// probeHistoryFile is the history of a real probe (`starter probe
// -max-concurrency 16 -max-tokens 8`) against the simulator (-latency 200ms
// -max-concurrent 2 -rate-limit 10 -rate-window 2s) on a Temporal dev
// server: the warm-up, levels 1, 2, 4 and 8, a wait for the rate-limit
// window before 4 and before 8, and the stop after 8 (six 429s, effective
// parallelism 2). Exported with
//
//	temporal workflow show -w probe-replay --output json
const probeHistoryFile = "testdata/probe_history.json"

// TestReplayProbeHistory replays the recorded probe with the current
// ConcurrencyProbe: a change of the commands it issues for the same input
// and activity results (another level, wait or stop) fails it.
func TestReplayProbeHistory(t *testing.T) {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyProbe)
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(quietLogger(), probeHistoryFile))
}
