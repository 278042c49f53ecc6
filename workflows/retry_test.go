package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// rateLimited answers 429 with Retry-After 3 s to the first try of the
// requests in limited, and 200 otherwise.
type rateLimited struct {
	mu      sync.Mutex
	limited map[int]bool
	outputs []activities.SendOutput
	tries   map[int][]int32
}

func (f *rateLimited) Send(_ context.Context, in activities.SendInput) (activities.SendOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out activities.SendOutput
	for _, spec := range in.Requests {
		try := max(in.Attempt, 1)
		f.tries[spec.Index] = append(f.tries[spec.Index], try)
		rec := fakeRecord(in, spec, 0)
		rec.Attempt = try
		rec.SentAt = t0.Add(time.Duration(try) * 10 * time.Second)
		rec.ReceivedAt = t0.Add(time.Duration(try)*10*time.Second + time.Second)
		if f.limited[spec.Index] && try == 1 {
			wait := 3.0
			rec.OK, rec.HTTPStatus, rec.Error, rec.RetryAfterSeconds = false, 429, "HTTP 429: rate limited", &wait
		}
		out.Records = append(out.Records, rec)
	}
	f.outputs = append(f.outputs, out)
	return out, nil
}

func TestRetryBackoffResendsRateLimitedRequests(t *testing.T) {
	for _, passes := range []string{testrun.PassesSequential, testrun.PassesConcurrent} {
		t.Run(passes, func(t *testing.T) {
			f := &rateLimited{limited: map[int]bool{1: true, 3: true}, tries: map[int][]int32{}}
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartTime(t0)
			env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(testEndpoint, nil)
			env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(f.Send)
			in := testInput(4)
			in.Passes, in.Retry = passes, testrun.RetryBackoff
			env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var r testrun.Result
			require.NoError(t, env.GetWorkflowResult(&r))
			history.MergeRecords(&r, f.outputs)

			p := r.Sequential
			if passes == testrun.PassesConcurrent {
				p = r.Concurrent
			}
			assert.Equal(t, 4, p.Summary.Successful, "every request succeeds in the end")
			assert.Equal(t, map[int][]int32{0: {1}, 1: {1, 2}, 2: {1}, 3: {1, 2}}, f.tries, "only the rate-limited ones are sent again, once")
			require.Len(t, p.Records, 4)
			retried := p.Records[1]
			assert.True(t, retried.OK)
			assert.EqualValues(t, 2, retried.Attempt)
			require.Len(t, retried.Attempts, 2)
			assert.Equal(t, 429, retried.Attempts[0].HTTPStatus)
			assert.Equal(t, 200, retried.Attempts[1].HTTPStatus)
			assert.Empty(t, p.Records[0].Attempts)
			assert.Greater(t, retried.TotalLatencySeconds, retried.LatencySeconds)
		})
	}
}

func TestRetryNoneSendsOnce(t *testing.T) {
	f := &rateLimited{limited: map[int]bool{0: true}, tries: map[int][]int32{}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(testEndpoint, nil)
	env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(f.Send)
	in := testInput(2)
	in.Passes = testrun.PassesConcurrent
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, map[int][]int32{0: {1}, 1: {1}}, f.tries, "-retry none sends each request once")
}
