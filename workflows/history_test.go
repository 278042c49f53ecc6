package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/workflows"
)

// TestResultLeavesBatchRecordsToTheHistory: the workflow's own result holds
// the summaries but not the records the batches returned, so its size does
// not grow with the number of requests.
func TestResultLeavesBatchRecordsToTheHistory(t *testing.T) {
	const n = 6
	f := newFakeSend()
	f.status = func(pass string, index int) int {
		if pass == record.PassConcurrent && index == 2 {
			return 500
		}
		return 0
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r workflows.RunResult
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

func TestMergeRecords(t *testing.T) {
	rec := func(pass string, index int, errText string) record.Request {
		return record.Request{Pass: pass, Index: index, Error: errText}
	}
	r := workflows.RunResult{
		Sequential: &workflows.PassResult{Pass: record.PassSequential,
			Records: []record.Request{rec(record.PassSequential, 1, "the worker could not run the request")}},
		Concurrent: &workflows.PassResult{Pass: record.PassConcurrent},
	}
	outputs := []activities.SendOutput{
		{Records: []record.Request{rec(record.PassSequential, 2, ""), rec(record.PassSequential, 0, "")}},
		{Records: []record.Request{rec(record.PassConcurrent, 1, ""), rec(record.PassConcurrent, 0, "")}},
		// The same request reported twice counts once; the first report wins.
		{Records: []record.Request{rec(record.PassConcurrent, 1, "duplicate")}},
	}
	workflows.MergeRecords(&r, outputs)
	assert.Equal(t, []int{0, 1, 2}, indexes(r.Sequential.Records))
	assert.Equal(t, "the worker could not run the request", r.Sequential.Records[1].Error, "the workflow's own record stays")
	assert.Equal(t, []int{0, 1}, indexes(r.Concurrent.Records))
	assert.Empty(t, r.Concurrent.Records[1].Error, "a duplicate report is ignored")

	one := workflows.RunResult{Sequential: &workflows.PassResult{Pass: record.PassSequential}}
	workflows.MergeRecords(&one, outputs)
	assert.Equal(t, []int{0, 2}, indexes(one.Sequential.Records), "records of a pass that did not run are dropped")
}
