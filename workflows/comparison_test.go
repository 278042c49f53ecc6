package workflows_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// childSpan is when a fake child ran, on the workflow clock.
type childSpan struct {
	id         string
	endpoint   string
	start, end time.Time
}

// fakeChildren stands in for ConcurrencyTest as the comparison's child: each
// run takes its endpoint's duration on the workflow clock, records when it
// ran, and returns a result whose passes give a speedup; endpoint "aborts"
// ends early with a partial result, endpoint "breaks" fails outright.
type fakeChildren struct {
	mu    sync.Mutex
	spans []childSpan
	took  map[string]time.Duration
}

func (f *fakeChildren) run(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
	start := workflow.Now(ctx)
	if err := workflow.Sleep(ctx, f.took[in.Endpoint]); err != nil {
		return testrun.Result{}, err
	}
	f.mu.Lock()
	f.spans = append(f.spans, childSpan{workflow.GetInfo(ctx).WorkflowExecution.ID, in.Endpoint, start, workflow.Now(ctx)})
	f.mu.Unlock()
	r := testrun.Result{Config: in,
		Sequential: &testrun.PassResult{Summary: analysis.PassSummary{TotalSeconds: 8, Successful: 4}},
		Concurrent: &testrun.PassResult{Summary: analysis.PassSummary{TotalSeconds: 2, Successful: 4}},
	}
	switch in.Endpoint {
	case "aborts":
		r.Aborted = "the worker gave up"
		return testrun.Result{}, temporal.NewNonRetryableApplicationError(r.Aborted, workflows.AbortedErrorType, nil, r)
	case "breaks":
		return testrun.Result{}, temporal.NewNonRetryableApplicationError("endpoint broke", "Broken", nil)
	}
	return r, nil
}

// comparisonInput compares endpoints, each with model m, on 4 requests.
func comparisonInput(parallel bool, endpoints ...string) testrun.ComparisonInput {
	c := testrun.ComparisonInput{Base: testInput(4).WithDefaults(), Parallel: parallel}
	for _, e := range endpoints {
		c.Targets = append(c.Targets, testrun.Target{Endpoint: e, Model: "m"})
	}
	return c
}

// runComparison runs ConcurrencyComparison as workflow "cmp-1" with the fake
// children, calling during (if set) halfway through the first child's run.
func runComparison(t *testing.T, f *fakeChildren, in testrun.ComparisonInput, during func(*testsuite.TestWorkflowEnvironment)) (testrun.ComparisonResult, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(gateTimeout)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "cmp-1"})
	env.RegisterWorkflow(workflows.ConcurrencyComparison)
	env.RegisterWorkflowWithOptions(f.run, workflow.RegisterOptions{Name: "ConcurrencyTest"})
	if during != nil {
		env.RegisterDelayedCallback(func() { during(env) }, f.took[in.Targets[0].Endpoint]/2)
	}
	env.ExecuteWorkflow(workflows.ConcurrencyComparison, in)
	require.True(t, env.IsWorkflowCompleted())
	var r testrun.ComparisonResult
	if err := env.GetWorkflowError(); err != nil {
		return r, err
	}
	require.NoError(t, env.GetWorkflowResult(&r))
	return r, nil
}

func newFakeChildren() *fakeChildren {
	return &fakeChildren{took: map[string]time.Duration{"a": 10 * time.Second, "b": 20 * time.Second, "c": 5 * time.Second, "aborts": 3 * time.Second, "breaks": time.Second}}
}

// TestComparisonSequential: the targets run one after another, in order,
// each as a child with an ID derived from the comparison's; the progress
// query shows the first running and the others waiting.
func TestComparisonSequential(t *testing.T) {
	f := newFakeChildren()
	var progress testrun.ComparisonProgress
	r, err := runComparison(t, f, comparisonInput(false, "a", "b", "c"), func(env *testsuite.TestWorkflowEnvironment) {
		v, err := env.QueryWorkflow(workflows.ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&progress))
	})
	require.NoError(t, err)
	require.Len(t, f.spans, 3)
	for i, want := range []string{"a", "b", "c"} {
		assert.Equal(t, want, f.spans[i].endpoint, "the targets run in their order")
		if i > 0 {
			assert.False(t, f.spans[i].start.Before(f.spans[i-1].end), "target %d started before target %d ended", i+1, i)
		}
	}
	assert.Equal(t, []string{"cmp-1-t1-a-m", "cmp-1-t2-b-m", "cmp-1-t3-c-m"}, []string{r.Targets[0].WorkflowID, r.Targets[1].WorkflowID, r.Targets[2].WorkflowID})
	for i, o := range r.Targets {
		assert.Equal(t, f.spans[i].id, o.WorkflowID)
		assert.NotEmpty(t, o.RunID)
		assert.Empty(t, o.Error)
		assert.Equal(t, analysis.VerdictConcurrent, o.Verdict)
		assert.InDelta(t, 4.0, o.Speedup, 1e-9)
	}
	assert.Equal(t, 35*time.Second, r.FinishedAt.Sub(r.StartedAt), "one after another: the runs' times add up")
	require.Len(t, progress.Targets, 3)
	assert.Equal(t, []string{testrun.TargetRunning, testrun.TargetWaiting, testrun.TargetWaiting},
		[]string{progress.Targets[0].State, progress.Targets[1].State, progress.Targets[2].State})
}

// TestComparisonParallel: with Parallel, every target's run starts at once,
// and the comparison takes as long as the longest.
func TestComparisonParallel(t *testing.T) {
	f := newFakeChildren()
	var progress testrun.ComparisonProgress
	r, err := runComparison(t, f, comparisonInput(true, "a", "b", "c"), func(env *testsuite.TestWorkflowEnvironment) {
		v, err := env.QueryWorkflow(workflows.ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&progress))
	})
	require.NoError(t, err)
	require.Len(t, f.spans, 3)
	for _, s := range f.spans {
		assert.Equal(t, t0, s.start, "target %s did not start with the others", s.endpoint)
	}
	assert.Equal(t, 20*time.Second, r.FinishedAt.Sub(r.StartedAt))
	assert.True(t, r.Parallel)
	for _, s := range progress.Targets {
		assert.Equal(t, testrun.TargetRunning, s.State)
	}
}

// TestComparisonFailingChild: a child that ends early and one that fails do
// not stop the others; each outcome says what happened, and the one that
// ended early keeps its headline.
func TestComparisonFailingChild(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		f := newFakeChildren()
		r, err := runComparison(t, f, comparisonInput(parallel, "aborts", "breaks", "a"), nil)
		require.NoError(t, err, "a failing child must not fail the comparison")
		require.Len(t, r.Targets, 3)
		assert.Equal(t, "the worker gave up", r.Targets[0].Error)
		assert.Equal(t, testrun.VerdictAborted, r.Targets[0].Verdict)
		assert.Contains(t, r.Targets[1].Error, "endpoint broke")
		assert.Empty(t, r.Targets[1].Verdict)
		assert.Empty(t, r.Targets[2].Error)
		assert.Equal(t, analysis.VerdictConcurrent, r.Targets[2].Verdict)
		assert.Len(t, f.spans, 3, "every target ran, the one after the failures too (parallel %v)", parallel)
	}
}

// TestComparisonCarriedTarget: a carried target (a rerun of failed requests
// that had none) starts no run; its outcome names the earlier run.
func TestComparisonCarriedTarget(t *testing.T) {
	f := newFakeChildren()
	in := comparisonInput(false, "a", "b")
	in.Targets[0].Carried = "old-t1"
	r, err := runComparison(t, f, in, nil)
	require.NoError(t, err)
	require.Len(t, f.spans, 1)
	assert.Equal(t, "b", f.spans[0].endpoint)
	assert.Equal(t, testrun.TargetOutcome{Endpoint: "a", Model: "m", WorkflowID: "old-t1", Carried: true}, r.Targets[0])
}

// TestComparisonInvalidInput: a comparison of one target, or of one target
// twice, is refused before any run starts.
func TestComparisonInvalidInput(t *testing.T) {
	for _, in := range []testrun.ComparisonInput{comparisonInput(false, "a"), comparisonInput(false, "a", "a")} {
		f := newFakeChildren()
		_, err := runComparison(t, f, in, nil)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "got %v", err)
		assert.Equal(t, workflows.InvalidInputErrorType, appErr.Type())
		assert.Empty(t, f.spans)
	}
}
