package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// rateFile is the history of a real run with the open-loop rate mode:
// 4 requests, -rate 10 -seed 3, against the simulator (-latency 200ms,
// -api-key replayFakeKey), the starter's other defaults, on a Temporal dev
// server, exported with
//
//	temporal workflow show -w replay-rate --output json
const rateFile = "testdata/rate_history.json"

// TestReplayRateHistory replays a run sent at a rate: its input records the
// rate and the seed, the concurrent pass's batches carry the seeded
// schedule's offsets, and it replays. The rate mode needs no patch: a run
// without -rate issues the commands it issued before (the replays of the
// other histories show it).
func TestReplayRateHistory(t *testing.T) {
	raw, hist := readHistory(t, rateFile)
	in := startedInput(t, hist)
	require.Equal(t, 10.0, in.Rate)
	require.Equal(t, int64(3), in.Seed)
	require.Equal(t, 1.0, in.Burstiness)
	require.NoError(t, in.Validate())
	assert.NotContains(t, string(raw), replayFakeKey)

	want := testrun.ArrivalOffsets(4, 10, 1, 3)
	got := map[int]time.Duration{}
	for _, ev := range hist.GetEvents() {
		attrs := ev.GetActivityTaskScheduledEventAttributes()
		if attrs == nil || attrs.GetActivityType().GetName() != activities.SendActivity {
			continue
		}
		var send activities.SendInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &send))
		for _, s := range send.Requests {
			if send.Pass == record.PassConcurrent {
				got[s.Index] = s.SendOffset
			} else {
				assert.Zero(t, s.SendOffset, "%s request %d", send.Pass, s.Index)
			}
		}
	}
	require.Len(t, got, 4)
	for i, w := range want {
		assert.Equal(t, w, got[i], "concurrent request %d", i)
	}

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))
}
