package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/workflows"
)

// Every activity of a run has a bound on its wait in the task queue: a run
// whose worker is gone ends instead of waiting for ever. A batch may wait
// until the run's deadline, plus the time its tries may take.
func TestActivitiesHaveABoundWithoutAWorker(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(gateTimeout)
	var describeBound time.Duration
	env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.DescribeInput) (record.Endpoint, error) {
		describeBound = activity.GetInfo(ctx).ScheduleToCloseTimeout
		return testEndpoint, nil
	})
	f := newFakeSend()
	var mu sync.Mutex
	bounds := map[record.Pass]time.Duration{}
	env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.SendInput) (activities.SendOutput, error) {
		info := activity.GetInfo(ctx)
		mu.Lock()
		bounds[in.Pass] = max(bounds[in.Pass], info.ScheduleToCloseTimeout-info.StartToCloseTimeout*3)
		mu.Unlock()
		return f.Send(ctx, in)
	})
	in := testInput(3)
	in.Timeout = 10 * time.Minute
	in.RequestTimeout = 20 * time.Second
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	assert.LessOrEqual(t, describeBound, in.Timeout+30*time.Second, "DescribeEndpoint waits for a worker at most for the run's -timeout")
	for _, pass := range []record.Pass{record.PassSequential, record.PassConcurrent} {
		// The time left until the deadline, plus 3 s of retry intervals.
		b, ok := bounds[pass]
		require.True(t, ok, pass)
		assert.Greater(t, b, 3*time.Second, "%s: a batch may wait for the deadline", pass)
		assert.LessOrEqual(t, b, in.Timeout+3*time.Second, "%s: but not beyond it", pass)
	}
}
