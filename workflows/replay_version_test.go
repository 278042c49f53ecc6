package workflows_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// inputAsGivenFile is the history of a real run recorded after the change
// "input-as-given" (docs/versioning.md): the starter resolved the defaults,
// and the workflow used the input as given, its check recorded as a side
// effect. 3 requests against the simulator (-latency 200ms, -api-key
// replayFakeKey), the starter's defaults (one warm-up, streaming), on a
// Temporal dev server, exported with
//
//	temporal workflow show -w replay-input-as-given --output json
const inputAsGivenFile = "testdata/input_as_given_history.json"

// startedInput decodes the input a recorded run started with.
func startedInput(t *testing.T, hist *historypb.History) testrun.Input {
	t.Helper()
	var in testrun.Input
	attrs := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in))
	return in
}

// markers lists the names of a history's markers, with the change IDs of
// its version markers.
func markers(hist *historypb.History) (names []string, changeIDs string) {
	for _, ev := range hist.GetEvents() {
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil {
			names = append(names, m.GetMarkerName())
			for _, p := range m.GetDetails() {
				for _, d := range p.GetPayloads() {
					changeIDs += string(d.GetData())
				}
			}
		}
	}
	return names, changeIDs
}

// TestReplayInputFromBeforeTheStarterResolvedIt replays a run recorded
// before the change "input-as-given": its input lacks settings added since
// (the endpoint, -retry, -max-requests), so it is not valid as given. It
// replays because, without the change's marker, the workflow still applies
// the defaults itself, as it did when the run was recorded. A workflow that
// used such an input as given, with no guard, would fail to replay it.
func TestReplayInputFromBeforeTheStarterResolvedIt(t *testing.T) {
	_, hist := readHistory(t, historyFile)
	in := startedInput(t, hist)
	assert.Empty(t, in.Endpoint, "recorded before the endpoint setting")
	assert.Zero(t, in.MaxRequests, "recorded before -max-requests")
	require.Error(t, in.Validate(), "the recorded input is not complete as given")
	require.NoError(t, in.WithDefaults().Validate(), "with this build's defaults it is")
	names, ids := markers(hist)
	assert.Empty(t, names, "recorded before any version marker")
	assert.NotContains(t, ids, "input-as-given")

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))

	unguarded := func(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
		if err := in.Validate(); err != nil {
			return testrun.Result{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.InvalidInputErrorType, nil)
		}
		return workflows.ConcurrencyTest(ctx, in)
	}
	replayer = worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(unguarded, workflow.RegisterOptions{Name: "ConcurrencyTest"})
	err := replayer.ReplayWorkflowHistory(quietLogger(), hist)
	require.Error(t, err, "the input as given, without the guard, must not replay the old run")
	assert.Contains(t, err.Error(), "TMPRL1100")
}

// TestReplayInputAsGivenHistory replays a run recorded after the change: its
// input is complete (the starter resolved it), the history holds the
// change's version marker and the recorded check of the input. A run whose
// input a later, stricter check would refuse (here: -max-requests lowered
// below its -requests, as a tightened limit would) still replays, because
// the workflow reads the check's outcome from the history instead of
// checking again.
func TestReplayInputAsGivenHistory(t *testing.T) {
	raw, hist := readHistory(t, inputAsGivenFile)
	in := startedInput(t, hist)
	require.True(t, reflect.DeepEqual(in, in.WithDefaults()), "the starter recorded the input complete: %+v", in)
	require.NoError(t, in.Validate())
	names, ids := markers(hist)
	assert.Contains(t, names, "Version")
	assert.Contains(t, names, "SideEffect")
	assert.Contains(t, ids, "input-as-given")
	assert.Contains(t, ids, "warmup-and-pass-order")
	assert.NotContains(t, string(raw), replayFakeKey)

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist))

	refused := in
	refused.MaxRequests = in.Requests - 1
	require.Error(t, refused.Validate(), "today's check would refuse it")
	stricter := func(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
		in.MaxRequests = in.Requests - 1
		return workflows.ConcurrencyTest(ctx, in)
	}
	replayer = worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(stricter, workflow.RegisterOptions{Name: "ConcurrencyTest"})
	require.NoError(t, replayer.ReplayWorkflowHistory(quietLogger(), hist), "the recorded check decides, not today's")
}
