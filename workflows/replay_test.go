package workflows_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// historyFile is the history of a real run: 3 requests against the simulator
// (-latency 200ms), both passes, on a Temporal dev server, exported with
//
//	temporal workflow show -w concurrency-test-replay --output json
//
// The worker's OPENAI_API_KEY was "sk-" + replayFakeKey, which the simulator
// required.
const historyFile = "testdata/concurrency_test_history.json"

// replayFakeKey is the fake API key of the recorded runs, or its end: the
// older histories were recorded with "sk-" before it, docs/versioning.md
// records with it alone (a key shaped like a real one would trip secret
// scanners). A history must not hold it: the key stays in the worker.
const replayFakeKey = "replay-test-key-not-real"

func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.DiscardHandler))
}

// TestReplayRecordedHistory replays the recorded run with the current
// workflow code: any change to the commands the workflow issues for the same
// input and activity results (a new activity, another order, a timer) makes
// it fail with a nondeterminism error.
func TestReplayRecordedHistory(t *testing.T) {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.ConcurrencyTest)
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(quietLogger(), historyFile))
}

// TestReplayDetectsChangedCommands checks that the replay above has teeth:
// workflows that issue other commands than the recorded ones, registered
// under the recorded workflow type, fail to replay.
func TestReplayDetectsChangedCommands(t *testing.T) {
	var a *activities.Activities
	options := workflow.ActivityOptions{StartToCloseTimeout: time.Minute}
	for _, tc := range []struct {
		name string
		fn   func(workflow.Context, testrun.Input) (testrun.Result, error)
	}{
		{"skips DescribeEndpoint", func(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
			ctx = workflow.WithActivityOptions(ctx, options)
			for i := range in.Requests {
				var out activities.SendOutput
				if err := workflow.ExecuteActivity(ctx, a.Send, activities.SendInput{
					Pass: record.PassSequential, Requests: []activities.RequestSpec{{Index: i, Prompt: in.Prompts[i]}},
				}).Get(ctx, &out); err != nil {
					return testrun.Result{}, err
				}
			}
			return testrun.Result{}, nil
		}},
		{"waits with a timer first", func(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return testrun.Result{}, err
			}
			return workflows.ConcurrencyTest(ctx, in)
		}},
		{"stops after DescribeEndpoint", func(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
			ctx = workflow.WithActivityOptions(ctx, options)
			var ep record.Endpoint
			err := workflow.ExecuteActivity(ctx, a.DescribeEndpoint, activities.DescribeInput{}).Get(ctx, &ep)
			return testrun.Result{Endpoint: ep}, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(tc.fn, workflow.RegisterOptions{Name: "ConcurrencyTest"})
			err := replayer.ReplayWorkflowHistoryFromJSONFile(quietLogger(), historyFile)
			require.Error(t, err, "a workflow with other commands must not replay the recorded history")
			assert.Contains(t, err.Error(), "TMPRL1100", "want the SDK's nondeterminism error")
		})
	}
}

// TestReplayHistoryContent checks that the recorded history is the run the
// replay test means to cover, and that it holds no API key.
func TestReplayHistoryContent(t *testing.T) {
	raw, hist := readHistory(t, historyFile)
	dc := converter.GetDefaultDataConverter()

	var (
		activityOrder []string
		summaries     []string
		in            testrun.Input
		result        testrun.Result
		completed     bool
	)
	for _, ev := range hist.GetEvents() {
		switch {
		case ev.GetWorkflowExecutionStartedEventAttributes() != nil:
			attrs := ev.GetWorkflowExecutionStartedEventAttributes()
			assert.Equal(t, "ConcurrencyTest", attrs.GetWorkflowType().GetName())
			require.NoError(t, dc.FromPayloads(attrs.GetInput(), &in))
		case ev.GetActivityTaskScheduledEventAttributes() != nil:
			activityOrder = append(activityOrder, ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
			var s string
			require.NoError(t, dc.FromPayload(ev.GetUserMetadata().GetSummary(), &s))
			summaries = append(summaries, s)
		case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
			completed = true
			require.NoError(t, dc.FromPayloads(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &result))
		}
	}
	assert.Equal(t, 3, in.Requests)
	assert.Equal(t, testrun.PassesBoth, in.Passes)
	send := activities.SendActivity
	assert.Equal(t, []string{activities.DescribeEndpointActivity, send, send, send, send, send, send}, activityOrder)
	require.Len(t, summaries, 7)
	assert.Equal(t, []string{"sequential #1", "sequential #2", "sequential #3"}, summaries[1:4])
	assert.ElementsMatch(t, []string{"concurrent #1", "concurrent #2", "concurrent #3"}, summaries[4:])
	require.True(t, completed, "the recorded run must have completed")
	require.NotNil(t, result.Sequential)
	require.NotNil(t, result.Concurrent)
	assert.Len(t, result.Sequential.Records, 3)
	assert.Len(t, result.Concurrent.Records, 3)
	for _, rec := range append(result.Sequential.Records, result.Concurrent.Records...) {
		assert.True(t, rec.OK, "%s #%d: %s", rec.Pass, rec.Index, rec.Error)
	}

	// No key, neither in the file nor in any payload (payloads are base64
	// in the JSON).
	texts := [][]byte{raw}
	var doc any
	require.NoError(t, json.Unmarshal(raw, &doc))
	collectPayloadData(t, doc, &texts)
	require.Greater(t, len(texts), 10, "the payloads were not found")
	keyLike := regexp.MustCompile(`sk-[A-Za-z0-9_-]{20,}`)
	for _, b := range texts {
		assert.NotContains(t, string(b), replayFakeKey)
		assert.False(t, keyLike.Match(b), "key-like string in the history: %s", keyLike.Find(b))
		assert.NotContains(t, string(b), "Bearer")
	}
}

// collectPayloadData appends the decoded "data" of every payload.
func collectPayloadData(t *testing.T, v any, out *[][]byte) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "data" {
				b, err := base64.StdEncoding.DecodeString(s)
				require.NoError(t, err)
				*out = append(*out, b)
				continue
			}
			collectPayloadData(t, x, out)
		}
	case []any:
		for _, x := range v {
			collectPayloadData(t, x, out)
		}
	}
}

// readHistory reads a history recorded with `temporal workflow show --output
// json`: its text and the history it holds.
func readHistory(t *testing.T, file string) ([]byte, *historypb.History) {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	hist, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
	require.NoError(t, err)
	return raw, hist
}
