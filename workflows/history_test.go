package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestResultLeavesBatchRecordsToTheHistory: the workflow's own result holds
// the summaries but not the records the batches returned, so its size does
// not grow with the number of requests.
func TestResultLeavesBatchRecordsToTheHistory(t *testing.T) {
	const n = 6
	f := newFakeSend()
	f.status = func(pass record.Pass, index int) int {
		if pass == record.PassConcurrent && index == 2 {
			return 500
		}
		return 0
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n).WithDefaults())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r testrun.Result
	require.NoError(t, env.GetWorkflowResult(&r))

	assert.Empty(t, r.Sequential.Records, "batch records belong to the history")
	assert.Empty(t, r.Concurrent.Records, "batch records belong to the history")
	assert.Equal(t, n, r.Sequential.Summary.Successful)
	assert.Equal(t, n-1, r.Concurrent.Summary.Successful)
	assert.Equal(t, 1, r.Concurrent.Summary.Failed)
	assert.Equal(t, 1, r.Sequential.Summary.MaxInFlight)

	f.complete(&r)
	assert.Equal(t, upTo(n), indexes(r.Sequential.Records))
	assert.Equal(t, upTo(n), indexes(r.Concurrent.Records))
	assert.Equal(t, 500, r.Concurrent.Records[2].HTTPStatus)
	assert.NotEmpty(t, r.Concurrent.Records[0].Response, "the response texts come back with the records")
}
