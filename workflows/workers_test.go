package workflows_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestPassCountsRequestsPerWorker: three workers share the concurrent pass
// of 900 requests, each shard going to one of them: the pass's summary
// counts the requests by worker (they add up to 900, each worker has its
// share), and the clock offset figure is the largest offset the batches'
// bounds prove (here a worker whose clock is 40 ms behind the server's).
func TestPassCountsRequestsPerWorker(t *testing.T) {
	in := testInput(900)
	in.Passes = testrun.PassesConcurrent
	workers := []string{"1@a@ endpoints=default", "2@b@ endpoints=default", "3@c@ endpoints=default"}
	highs := []float64{0.004, -0.040, 0.250}
	f := newFakeSend()
	var mu sync.Mutex
	byShard := map[int]int{}
	f.modify = func(in activities.SendInput, rec *record.Request) {
		mu.Lock()
		defer mu.Unlock()
		first := in.Requests[0].Index
		w, ok := byShard[first]
		if !ok {
			w = len(byShard) % len(workers)
			byShard[first] = w
		}
		rec.Worker = workers[w]
		rec.SetClockOffset(nil, &highs[w])
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	require.NotNil(t, r.Concurrent)
	for what, s := range map[string]analysis.PassSummary{
		"the workflow's summary":         r.Concurrent.Summary,
		"the summary of the merged pass": analysis.Summarize(r.Concurrent.Records),
	} {
		total := 0
		for i, w := range workers {
			// 50 shards of 18 requests, dealt in turn: 17, 17 and 16.
			want := 18 * 17
			if i == 2 {
				want = 18 * 16
			}
			assert.Equal(t, want, s.Workers[w], "%s: requests of worker %s", what, w)
			total += s.Workers[w]
		}
		assert.Equal(t, 900, total, what)
		require.NotNil(t, s.ClockOffsetMaxSeconds, what)
		assert.InDelta(t, 0.040, *s.ClockOffsetMaxSeconds, 1e-9, "%s: worker b is proven 40 ms behind; c's 250 ms upper bound proves nothing", what)
	}
}

// unknownEndpointErr is what Send returns on a worker that does not serve
// the run's endpoint.
func unknownEndpointErr() error {
	return temporal.NewNonRetryableApplicationError(`this worker does not serve endpoint "default"; it serves other`, activities.UnknownEndpointErrorType, nil)
}

// TestActivityOnAWorkerWithoutTheEndpointGoesToAnother: a worker whose
// allow-list lacks the run's endpoint picked up the description of the
// endpoint, a sequential request and a shard: each is sent again (to
// another worker) and every request is answered once, none lost.
func TestActivityOnAWorkerWithoutTheEndpointGoesToAnother(t *testing.T) {
	in := testInput(4)
	f := newFakeSend()
	var mu sync.Mutex
	failed := map[string]bool{}
	f.fail = func(in activities.SendInput) error {
		mu.Lock()
		defer mu.Unlock()
		key := fmt.Sprint(in.Pass, in.Requests[0].Index)
		if (in.Pass == record.PassSequential && in.Requests[0].Index == 1 || in.Pass == record.PassConcurrent && in.Requests[0].Index == 2) && !failed[key] {
			failed[key] = true
			return unknownEndpointErr()
		}
		return nil
	}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(2 * gateTimeout)
	env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(record.Endpoint{}, unknownEndpointErr()).Once()
	env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(testEndpoint, nil)
	env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(f.Send)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	assert.Equal(t, testEndpoint.BaseURL, r.Endpoint.BaseURL, "the endpoint was described by another worker")
	for _, p := range []*testrun.PassResult{r.Sequential, r.Concurrent} {
		require.NotNil(t, p)
		require.Equal(t, upTo(4), indexes(p.Records), p.Pass)
		for _, rec := range p.Records {
			assert.True(t, rec.OK, "%s #%d: %s", p.Pass, rec.Index, rec.Error)
		}
	}
	// 4 sequential requests and 4 shards, and one resend each for the
	// sequential request and the shard.
	assert.Len(t, f.calls, 4+4+2)
}

// TestNoWorkerWithTheEndpoint: when every try lands on a worker without the
// endpoint, the resends stop (maxEndpointResends) and the shard's requests
// are recorded as not run, saying why.
func TestNoWorkerWithTheEndpoint(t *testing.T) {
	in := testInput(1)
	in.Passes = testrun.PassesConcurrent
	f := newFakeSend()
	f.fail = func(activities.SendInput) error { return unknownEndpointErr() }
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	require.NotNil(t, r.Concurrent)
	require.Len(t, r.Concurrent.Records, 1)
	assert.False(t, r.Concurrent.Records[0].OK)
	assert.Contains(t, r.Concurrent.Records[0].Error, "does not serve endpoint")
	assert.Len(t, f.calls, 1+10, "the first try and ten resends")
}
