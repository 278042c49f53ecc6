package workflows_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestReplayRetryAndSweepHistories replays real runs that took the newer
// paths: resends after 429s (-retry backoff, with durable timers), and a
// streamed sweep. Both were recorded against the simulator with a rate limit
// of 3 requests per 2 s, so both contain resends.
func TestReplayRetryAndSweepHistories(t *testing.T) {
	for _, file := range []string{"testdata/retry_backoff_history.json", "testdata/sweep_stream_history.json"} {
		t.Run(file, func(t *testing.T) {
			raw, hist := readHistory(t, file)
			timers, tries := 0, 0
			for _, ev := range hist.GetEvents() {
				if ev.GetTimerStartedEventAttributes() != nil {
					timers++
				}
				if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
					for _, p := range a.GetInput().GetPayloads() {
						if strings.Contains(string(p.GetData()), `"attempt":2`) {
							tries++
						}
					}
				}
			}
			assert.Positive(t, timers, "the recorded run waited on a retry timer")
			assert.Positive(t, tries, "the recorded run sent requests a second time")
			assert.NotContains(t, string(raw), "replay-fake-key", "the recording's key is not in its history")

			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(workflows.ConcurrencyTest)
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(quietLogger(), file))
		})
	}
}

// TestReplayFailedOnlyHistory replays a real `starter rerun -failed-only` run
// started with the search attributes: it sends only the listed requests and
// sets the verdict attribute at the end. Recorded against the simulator with
// -fault-500 0.5 -seed 5 on a dev server with the attributes registered.
func TestReplayFailedOnlyHistory(t *testing.T) {
	const file = "testdata/failed_only_history.json"
	raw, hist := readHistory(t, file)
	dc := converter.GetDefaultDataConverter()
	var in testrun.Input
	upserts, sends := 0, 0
	for _, ev := range hist.GetEvents() {
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			require.NoError(t, dc.FromPayloads(a.GetInput(), &in))
		}
		if ev.GetUpsertWorkflowSearchAttributesEventAttributes() != nil {
			upserts++
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activities.SendActivity {
			var send activities.SendInput
			require.NoError(t, dc.FromPayloads(a.GetInput(), &send))
			sends += len(send.Requests)
		}
	}
	resent := 0
	for _, idx := range in.Only {
		resent += len(idx)
	}
	require.NotEmpty(t, in.RerunOf, "a rerun names the run it reran")
	require.Positive(t, resent)
	assert.Less(t, resent, 2*in.Requests, "only some requests were resent")
	assert.Equal(t, resent, sends, "the rerun sent exactly the listed requests")
	assert.Equal(t, 1, upserts, "the verdict search attribute is set once, at the end")
	assert.NotContains(t, string(raw), replayFakeKey)

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(quietLogger(), file))
}
