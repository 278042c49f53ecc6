package workflows_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/llmconc/llmconc/activities"
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

// TestTenThousandUnsentStayFarBelowThePayloadLimit: when every batch of a
// pass of 10,000 fails for good, the workflow's result holds the requests
// as indexes by reason, not as 10,000 records with their prompts and
// errors (which would pass Temporal's 2 MiB payload limit, and lose the
// run), and the reader makes them records again.
func TestTenThousandUnsentStayFarBelowThePayloadLimit(t *testing.T) {
	const n = 10000
	in := testInput(n)
	in.Passes = testrun.PassesConcurrent
	in.Concurrency, in.MaxRequests = n, n
	for i := range in.Prompts {
		in.Prompts[i] = strings.Repeat("a prompt of a hundred characters ", 3) + strconv.Itoa(i)
	}
	f := newFakeSend()
	f.fail = func(activities.SendInput) error {
		return temporal.NewNonRetryableApplicationError("the endpoint's host could not be resolved", "test", nil)
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r testrun.Result
	require.NoError(t, env.GetWorkflowResult(&r))

	payload, err := converter.GetDefaultDataConverter().ToPayload(r)
	require.NoError(t, err)
	assert.Less(t, len(payload.GetData()), 256<<10, "the result of 10,000 requests never sent")
	assert.Empty(t, r.Concurrent.Records)
	assert.Equal(t, n, r.Concurrent.Summary.Failed)
	var unsent int
	for _, g := range r.Concurrent.NotSent {
		assert.Contains(t, g.Error, "the worker could not run the request")
		assert.Contains(t, g.Error, "could not be resolved")
		unsent += len(g.Indexes)
	}
	assert.Equal(t, n, unsent)

	r.ExpandNotSent(in.Prompts)
	f.complete(&r)
	require.Equal(t, upTo(n), indexes(r.Concurrent.Records))
	for _, i := range []int{0, 4321, n - 1} {
		rec := r.Concurrent.Records[i]
		assert.False(t, rec.OK)
		assert.Equal(t, in.Prompts[i], rec.Prompt)
		assert.Equal(t, "test-model", rec.Model)
		assert.Contains(t, rec.Error, "could not be resolved")
	}
	assert.Empty(t, r.Concurrent.NotSent)
}
