package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/sdk/v1"

	"go.temporal.io/sdk/temporal"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// A finished run's current details carry its headline, and while it runs
// they say which pass it is in and how far it got.
func TestCurrentDetailsShowTheHeadline(t *testing.T) {
	f := newFakeSend()
	env := newEnvEvery(t, f, 10*time.Second)
	details := func() string {
		v, err := env.QueryWorkflow(metadataQuery)
		require.NoError(t, err)
		var md sdk.WorkflowMetadata
		require.NoError(t, v.Get(&md))
		return md.GetCurrentDetails()
	}
	var during, concurrent string
	env.RegisterDelayedCallback(func() { during = details() }, 25*time.Second)
	// The sequential pass ends at 40 s; the concurrent batches at 40 s +
	// the fire lead + 10 s.
	env.RegisterDelayedCallback(func() { concurrent = details() }, 45*time.Second)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(4).WithDefaults())
	r := runResult(t, env, f)
	done := details()
	h := testrun.HeadlineOf(r)
	assert.Equal(t, analysis.VerdictConcurrent, h.Verdict)
	assert.Greater(t, h.Speedup, 1.0)
	assert.Equal(t, fmt.Sprintf("concurrent, speedup %.2fx", h.Speedup), h.Text)
	assert.Contains(t, done, "**Verdict: "+h.Text+"**")
	assert.Contains(t, done, "- sequential: 4 successful, 0 failed")
	assert.Contains(t, done, "- concurrent: 4 successful, 0 failed")
	assert.Contains(t, during, "Running the **sequential** pass")
	assert.Contains(t, during, "- sequential: 2 of 4 done", "25 s in, two of the 10 s requests are done")
	assert.NotContains(t, during, "Verdict")
	assert.Contains(t, concurrent, "Running the **concurrent** pass", "45 s in, before any concurrent batch has answered")
	assert.Contains(t, concurrent, "- concurrent: 0 of 4 done")
}

// A run started with the search attributes sets its verdict at the end; one
// started without them (a server where they are not registered) leaves them
// alone, since an upsert of an unregistered attribute would fail the run.
func TestVerdictSearchAttribute(t *testing.T) {
	t.Run("registered", func(t *testing.T) {
		f := newFakeSend()
		env := newEnv(t, f)
		in := testInput(3)
		require.NoError(t, env.SetTypedSearchAttributesOnStart(workflows.StartSearchAttributes(in.WithDefaults())))
		var upserted []string
		env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
			v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(workflows.VerdictAttribute)
			require.True(t, ok, "the upsert sets the verdict")
			upserted = append(upserted, v)
		}).Return(nil).Once()
		env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
		runResult(t, env, f)
		assert.Equal(t, []string{analysis.VerdictConcurrent}, upserted)
	})
	t.Run("not registered", func(t *testing.T) {
		f := newFakeSend()
		env := newEnv(t, f)
		env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Maybe()
		env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(3).WithDefaults())
		runResult(t, env, f)
		env.AssertNotCalled(t, "UpsertTypedSearchAttributes", mock.Anything)
	})
	t.Run("aborted", func(t *testing.T) {
		f := newFakeSend()
		f.status = func(pass record.Pass, index int) int {
			if index == 1 {
				return 401
			}
			return 0
		}
		env := newEnv(t, f)
		in := testInput(3)
		require.NoError(t, env.SetTypedSearchAttributesOnStart(workflows.StartSearchAttributes(in.WithDefaults())))
		var upserted []string
		env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
			v, _ := args.Get(0).(temporal.SearchAttributes).GetKeyword(workflows.VerdictAttribute)
			upserted = append(upserted, v)
		}).Return(nil).Once()
		env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
		abortedResult(t, env, f)
		assert.Equal(t, []string{testrun.VerdictAborted}, upserted)
	})
}

// Only limits each pass to the listed requests, which keep their indices.
func TestOnlySendsTheListedRequests(t *testing.T) {
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(6)
	in.Only = map[record.Pass][]int{record.PassConcurrent: {1, 4}}
	in.RerunOf = "concurrency-test-original"
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)
	assert.Nil(t, r.Sequential, "no sequential request listed: no sequential pass")
	require.NotNil(t, r.Concurrent)
	assert.Equal(t, []int{1, 4}, indexes(r.Concurrent.Records))
	assert.Equal(t, 2, r.Concurrent.Summary.Successful)
	assert.Empty(t, f.callsOf(record.PassSequential))
	for _, c := range f.callsOf(record.PassConcurrent) {
		for _, s := range c.Requests {
			assert.Equal(t, in.Prompts[s.Index], s.Prompt, "request %d keeps its prompt", s.Index)
		}
	}
	assert.Equal(t, "concurrency-test-original", r.Config.RerunOf)
}

func TestStaticSummaryAndDetails(t *testing.T) {
	in := testInput(5)
	in.Concurrency = 2
	in.RerunOf = "concurrency-test-x"
	in.Only = map[record.Pass][]int{record.PassConcurrent: {0, 3}}
	in = in.WithDefaults()
	assert.Equal(t, "test-model on endpoint default: 5 requests, passes both, concurrency 2, rerun of concurrency-test-x", workflows.StaticSummary(in))
	d := workflows.StaticDetails(in)
	for _, want := range []string{"| Endpoint | default |", "| Model | test-model |", "| Requests | 5 |", "| Concurrency | 2 |", "| Rerun of | concurrency-test-x |", "| Resends | 2 failed requests only |"} {
		assert.Contains(t, d, want)
	}
	assert.Equal(t, strings.Count(d, "\n"), strings.Count(d, "|\n"), "every line is a table row")
}

// metadataQuery is the built-in query that the Temporal UI reads a run's
// current details with.
const metadataQuery = "__temporal_workflow_metadata"
