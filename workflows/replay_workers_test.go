package workflows_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/workflows"
)

// endpointResendFile is the history of a real run recorded after the change
// "endpoint-resend" (docs/versioning.md): a worker without the run's
// endpoint had the description of the endpoint and the first shard of the
// concurrent pass, which failed with UnknownEndpoint and were scheduled
// again. 3 requests against the simulator (-latency 200ms, -api-key
// replayFakeKey) on a Temporal dev server; the worker was an in-process
// one whose DescribeEndpoint and first concurrent Send failed once as a
// worker without the endpoint does (a test double around the real
// activities). Exported with the client's GetWorkflowHistory, as protojson.
const endpointResendFile = "testdata/endpoint_resend_history.json"

// TestReplayEndpointResendHistory replays the run whose activities a worker
// without the endpoint picked up: the version marker, then each failed
// activity scheduled again.
func TestReplayEndpointResendHistory(t *testing.T) {
	raw, hist := readHistory(t, endpointResendFile)
	_, ids := markers(hist)
	assert.Contains(t, ids, "endpoint-resend")
	assert.NotContains(t, string(raw), replayFakeKey)
	var failed, again []string
	for _, ev := range hist.GetEvents() {
		if a := ev.GetActivityTaskFailedEventAttributes(); a != nil {
			failed = append(failed, a.GetFailure().GetApplicationFailureInfo().GetType())
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && strings.Contains(string(ev.GetUserMetadata().GetSummary().GetData()), "(again:") {
			again = append(again, a.GetActivityType().GetName())
		}
	}
	assert.Equal(t, []string{activities.UnknownEndpointErrorType, activities.UnknownEndpointErrorType}, failed)
	assert.Equal(t, []string{activities.DescribeEndpointActivity, activities.SendActivity}, again, "each failed activity was sent again")

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))
}
