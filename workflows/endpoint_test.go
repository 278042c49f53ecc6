package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/workflows"
)

// TestEndpointNameReachesEveryActivity: the run's endpoint name, and only
// the name, goes to DescribeEndpoint and to every batch, in both passes; an
// input without one means "default".
func TestEndpointNameReachesEveryActivity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"local", "local"}, {"", record.DefaultEndpoint}} {
		t.Run(tc.want, func(t *testing.T) {
			f := newFakeSend()
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartTime(t0)
			var mu sync.Mutex
			var described []string
			env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DescribeInput) (record.Endpoint, error) {
				mu.Lock()
				described = append(described, in.Endpoint)
				mu.Unlock()
				ep := testEndpoint
				ep.Name = in.Endpoint
				return ep, nil
			})
			env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(f.Send)
			in := testInput(3)
			in.Endpoint = tc.in
			env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
			r := runResult(t, env, f)

			assert.Equal(t, []string{tc.want}, described)
			require.NotEmpty(t, f.calls)
			for _, c := range f.calls {
				assert.Equal(t, tc.want, c.Endpoint, "batch %s", callKey(c))
			}
			assert.Equal(t, tc.want, r.Config.Endpoint)
			assert.Equal(t, tc.want, r.Endpoint.Name)
		})
	}
}

// TestUnknownEndpointIsInvalidInput: a worker that does not serve the run's
// endpoint (the real activities, with only "default") fails the run as
// invalid input, before any request; the starter maps that to exit code 2.
func TestUnknownEndpointIsInvalidInput(t *testing.T) {
	f := newFakeSend()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	activities.Register(env, &activities.Activities{Endpoint: record.Endpoint{BaseURL: "http://sim.invalid/v1"}})
	env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(f.Send)
	in := testInput(2)
	in.Endpoint = "nope"
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())

	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %v", err)
	assert.Equal(t, workflows.InvalidInputErrorType, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.Contains(t, appErr.Message(), `does not serve endpoint "nope"`)
	assert.Contains(t, appErr.Message(), "default")
	assert.Empty(t, f.calls, "no request may be sent")
}

func TestRunInputEndpointName(t *testing.T) {
	for _, name := range []string{"default", "local", "vllm-2", "a.b_c", "x"} {
		in := testInput(1)
		in.Endpoint = name
		assert.NoError(t, in.WithDefaults().Validate(), name)
	}
	for _, name := range []string{"Local", "-x", "http://evil.example/v1", "a b", "été", "abcdefghijklmnopqrstuvwxyz0123456"} {
		in := testInput(1)
		in.Endpoint = name
		err := in.WithDefaults().Validate()
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "-endpoint")
		}
	}
}
