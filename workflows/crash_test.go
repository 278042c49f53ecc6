package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestLostBatchKeepsItsHeartbeatedRecords has a shard whose worker is lost
// on every attempt: its last heartbeat had request 1 answered, request 3 in
// flight. The run goes on; request 1 keeps its measured record, and request
// 3 is recorded as failed, each once.
func TestLostBatchKeepsItsHeartbeatedRecords(t *testing.T) {
	in := testInput(4)
	in.Concurrency = 2 // shards {0, 2} and {1, 3}
	in.Passes = testrun.PassesConcurrent
	f := newFakeSend()
	lostAttempts := 0
	f.fail = func(in activities.SendInput) error {
		if in.Requests[0].Index != 1 {
			return nil
		}
		lostAttempts++
		answered := fakeRecord(in, in.Requests[0], 0)
		answered.ActivityAttempt = 3
		return temporal.NewHeartbeatTimeoutError(activities.SendProgress{Records: []record.Request{answered}, InFlight: []int{3}})
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	var own testrun.Result
	require.NoError(t, env.GetWorkflowResult(&own))
	assert.Empty(t, own.Concurrent.Records, "the heartbeated records stay in the history")
	r := runResult(t, env, f)

	assert.Equal(t, 3, lostAttempts, "the batch is retried up to its retry policy's 3 attempts")
	require.NotNil(t, r.Concurrent)
	require.Equal(t, upTo(4), indexes(r.Concurrent.Records), "one record per request")
	kept := r.Concurrent.Records[1]
	assert.True(t, kept.OK, "the heartbeated answer is kept: %+v", kept)
	assert.EqualValues(t, 3, kept.ActivityAttempt)
	assert.Equal(t, "answer prompt number 1", kept.Response)
	lost := r.Concurrent.Records[3]
	assert.False(t, lost.OK)
	assert.Contains(t, lost.Error, "the worker could not run the request")
	assert.Empty(t, lost.SentAt)
	assert.Equal(t, 3, r.Concurrent.Summary.Successful)
	assert.Equal(t, 1, r.Concurrent.Summary.Failed)
}
