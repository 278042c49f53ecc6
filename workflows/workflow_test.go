package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// a is the nil receiver whose method values name the activities in mocks.
var a *activities.Activities

// t0 is the workflow clock's start in every test.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// gateTimeout only bounds a broken test: the gates below are released by the
// activities themselves, never by the passing of time.
const gateTimeout = 20 * time.Second

var testEndpoint = record.Endpoint{BaseURL: "http://sim.invalid/v1", Label: "test endpoint"}

// fakeSend stands in for Activities.Send. It records every call, the order in
// which calls start and end, and how many calls of each pass run at once.
type fakeSend struct {
	mu          sync.Mutex
	calls       []activities.SendInput
	outputs     []activities.SendOutput
	log         []string
	inFlight    map[record.Pass]int
	maxInFlight map[record.Pass]int

	// status, if set, gives the HTTP status of a request (0 means 200).
	status func(pass record.Pass, index int) int
	// before, if set, runs inside the call, while it counts as in flight.
	before func(in activities.SendInput)
	// fail, if set, makes the call return an activity error.
	fail func(in activities.SendInput) error
	// modify, if set, changes each record before it is returned.
	modify func(in activities.SendInput, rec *record.Request)
}

func newFakeSend() *fakeSend {
	return &fakeSend{inFlight: map[record.Pass]int{}, maxInFlight: map[record.Pass]int{}}
}

func (f *fakeSend) Send(_ context.Context, in activities.SendInput) (activities.SendOutput, error) {
	key := callKey(in)
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.log = append(f.log, "start "+key)
	f.inFlight[in.Pass]++
	f.maxInFlight[in.Pass] = max(f.maxInFlight[in.Pass], f.inFlight[in.Pass])
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight[in.Pass]--
		f.log = append(f.log, "end "+key)
		f.mu.Unlock()
	}()

	if f.before != nil {
		f.before(in)
	}
	if f.fail != nil {
		if err := f.fail(in); err != nil {
			// A lost batch's last heartbeat stays in the history, in its
			// timeout, where the starter finds it.
			var timeout *temporal.TimeoutError
			var p activities.SendProgress
			if errors.As(err, &timeout) && timeout.HasLastHeartbeatDetails() && timeout.LastHeartbeatDetails(&p) == nil {
				f.mu.Lock()
				f.outputs = append(f.outputs, activities.SendOutput{Records: activities.Salvaged(in.Pass, in.Requests, p)})
				f.mu.Unlock()
			}
			return activities.SendOutput{}, err
		}
	}
	var out activities.SendOutput
	for _, spec := range in.Requests {
		status := 0
		if f.status != nil {
			status = f.status(in.Pass, spec.Index)
		}
		rec := fakeRecord(in, spec, status)
		if f.modify != nil {
			f.modify(in, &rec)
		}
		out.Records = append(out.Records, rec)
		if status != 0 && record.IsFatalStatus(status) && in.StopOnFatal {
			break
		}
	}
	f.mu.Lock()
	f.outputs = append(f.outputs, out)
	f.mu.Unlock()
	return out, nil
}

// complete puts the records that the batches returned into a run's result,
// as the starter does from the history, the requests never sent with the
// prompts the calls had (the starter has them from the run's input).
func (f *fakeSend) complete(r *testrun.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var prompts []string
	for _, c := range f.calls {
		for _, spec := range c.Requests {
			for len(prompts) <= spec.Index {
				prompts = append(prompts, "")
			}
			prompts[spec.Index] = spec.Prompt
		}
	}
	r.ExpandNotSent(prompts)
	history.MergeRecords(r, f.outputs)
}

// callsOf returns the calls of one pass, in the order they started.
func (f *fakeSend) callsOf(pass record.Pass) []activities.SendInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []activities.SendInput
	for _, c := range f.calls {
		if c.Pass == pass {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSend) logCopy() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeSend) max(pass record.Pass) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInFlight[pass]
}

func callKey(in activities.SendInput) string {
	idx := make([]string, len(in.Requests))
	for i, s := range in.Requests {
		idx[i] = fmt.Sprint(s.Index)
	}
	return fmt.Sprintf("%s %v", in.Pass, idx)
}

// fakeRecord is the record of one request answered with status (0 means a
// successful 200). Its timestamps are made up but consistent.
func fakeRecord(in activities.SendInput, spec activities.RequestSpec, status int) record.Request {
	sent := t0.Add(time.Duration(spec.Index) * 2 * time.Second)
	if !in.FireAt.IsZero() {
		sent = in.FireAt
	}
	rec := record.Request{
		Index:          spec.Index,
		Pass:           in.Pass,
		Prompt:         spec.Prompt,
		SentAt:         sent,
		ReceivedAt:     sent.Add(time.Second),
		LatencySeconds: 1,
		OK:             true,
		HTTPStatus:     200,
		Attempt:        1,
		Model:          in.Model,
		Response:       "answer " + spec.Prompt,
	}
	if status != 0 && status != 200 {
		rec.OK = false
		rec.HTTPStatus = status
		rec.Error = fmt.Sprintf("HTTP %d: simulated failure", status)
		rec.Response = ""
	}
	return rec
}

func testPrompts(n int) []string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("prompt number %d", i)
	}
	return p
}

// testInput is a run's input as a user gives it; the tests resolve it with
// WithDefaults before they start the workflow, as the starter does.
func testInput(n int) testrun.Input {
	return testrun.Input{Requests: n, Model: "test-model", MaxTokens: 7, Prompts: testPrompts(n), PromptsSource: "test"}
}

// newEnv returns a test environment with DescribeEndpoint mocked and Send
// served by f.
func newEnv(t *testing.T, f *fakeSend) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(2 * gateTimeout)
	env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(testEndpoint, nil)
	if f != nil {
		env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(f.Send)
	}
	return env
}

// newEnvEvery is newEnv with every Send taking d on the workflow clock.
func newEnvEvery(t *testing.T, f *fakeSend, d time.Duration) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	env := newEnv(t, nil)
	env.OnActivity(a.Send, mock.Anything, mock.Anything).After(d).Return(f.Send)
	return env
}

// runResult returns the completed run's result with the batches' records
// merged in.
func runResult(t *testing.T, env *testsuite.TestWorkflowEnvironment, f *fakeSend) testrun.Result {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r testrun.Result
	require.NoError(t, env.GetWorkflowResult(&r))
	f.complete(&r)
	return r
}

func progress(t *testing.T, env *testsuite.TestWorkflowEnvironment, from int) testrun.Progress {
	t.Helper()
	v, err := env.QueryWorkflow(workflows.ProgressQuery, from)
	require.NoError(t, err)
	var p testrun.Progress
	require.NoError(t, v.Get(&p))
	return p
}

// abortedResult checks that the run failed with the aborted error and
// returns the testrun.Result carried in its details.
func abortedResult(t *testing.T, env *testsuite.TestWorkflowEnvironment, f *fakeSend) (*temporal.ApplicationError, testrun.Result) {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %v", err)
	require.Equal(t, workflows.AbortedErrorType, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	require.True(t, appErr.HasDetails(), "the aborted error must carry the testrun.Result")
	var r testrun.Result
	require.NoError(t, appErr.Details(&r))
	assert.Equal(t, appErr.Message(), r.Aborted)
	f.complete(&r)
	return appErr, r
}

func indexes(recs []record.Request) []int {
	out := make([]int, len(recs))
	for i, r := range recs {
		out[i] = r.Index
	}
	return out
}

func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestSequentialPassIsChained(t *testing.T) {
	const n = 6
	f := newFakeSend()
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n).WithDefaults())
	r := runResult(t, env, f)

	seq := f.callsOf(record.PassSequential)
	require.Len(t, seq, n)
	assert.Equal(t, 1, f.max(record.PassSequential), "sequential requests overlapped")
	for i, in := range seq {
		require.Len(t, in.Requests, 1, "sequential call %d", i)
		assert.Equal(t, i, in.Requests[0].Index, "sequential calls out of order")
		assert.Equal(t, fmt.Sprintf("prompt number %d", i), in.Requests[0].Prompt)
		assert.Equal(t, 1, in.Concurrency)
		assert.True(t, in.FireAt.IsZero(), "a sequential request must be sent at once, FireAt = %v", in.FireAt)
		assert.Equal(t, "test-model", in.Model)
		assert.Equal(t, 7, in.MaxTokens)
		assert.True(t, in.StopOnFatal)
		assert.Equal(t, testrun.DefaultRequestTimeout, in.RequestTimeout)
	}

	// Request i+1 starts only after request i has returned, and the
	// concurrent pass only after the whole sequential pass.
	var want []string
	for i := range n {
		key := fmt.Sprintf("%s [%d]", record.PassSequential, i)
		want = append(want, "start "+key, "end "+key)
	}
	log := f.logCopy()
	require.GreaterOrEqual(t, len(log), 2*n)
	assert.Equal(t, want, log[:2*n])
	for _, line := range log[2*n:] {
		assert.Contains(t, line, record.PassConcurrent)
	}

	require.NotNil(t, r.Sequential)
	assert.Equal(t, upTo(n), indexes(r.Sequential.Records))
	assert.Equal(t, n, r.Sequential.Shards)
	assert.True(t, r.Sequential.FireAt.IsZero())
	for _, rec := range r.Sequential.Records {
		assert.True(t, rec.OK)
		assert.Equal(t, record.PassSequential, rec.Pass)
	}
	assert.Equal(t, testEndpoint, r.Endpoint)
	assert.Equal(t, t0, r.StartedAt.UTC())
	assert.Nil(t, r.Config.Prompts, "the result's config must not repeat the prompts")
	assert.Equal(t, n, r.Config.Concurrency, "concurrency defaults to the number of requests")
	assert.Empty(t, r.Aborted)
}

// TestSequentialPassIsChainedOnTheWorkflowClock makes every sequential
// request take 10s of workflow time and counts the requests started, before
// they wait, at 5s, 15s, 25s...: a pass that scheduled request i+1 before
// request i returned would have more started requests than that. The workflow
// clock only moves on once every started request waits, so the counts are
// exact.
func TestSequentialPassIsChainedOnTheWorkflowClock(t *testing.T) {
	const n = 4
	const each = 10 * time.Second
	f := newFakeSend()
	var (
		mu      sync.Mutex
		started int
	)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(testEndpoint, nil)
	env.OnActivity(a.Send, mock.Anything, mock.Anything).AfterFn(func() time.Duration {
		mu.Lock()
		started++
		mu.Unlock()
		return each
	}).Return(f.Send)

	var seen []int
	for i := range n {
		env.RegisterDelayedCallback(func() {
			mu.Lock()
			seen = append(seen, started)
			mu.Unlock()
		}, time.Duration(i)*each+each/2)
	}
	in := testInput(n)
	in.Passes = testrun.PassesSequential
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	assert.Equal(t, []int{1, 2, 3, 4}, seen, "requests started by 5s, 15s, 25s, 35s")
	assert.Equal(t, time.Duration(n)*each, r.FinishedAt.Sub(r.StartedAt), "the pass takes the sum of its requests")
	assert.Equal(t, upTo(n), indexes(r.Sequential.Records))
}

func TestConcurrentPassFansOut(t *testing.T) {
	cases := []struct {
		name        string
		requests    int
		concurrency int
		maxShards   int
		fireLead    time.Duration
		wantShards  int
		// wantSizes and wantConc are the shards' request counts and
		// concurrencies, in shard order, if checked.
		wantSizes []int
		wantConc  []int
	}{
		{name: "C==N", requests: 10, wantShards: 10,
			wantSizes: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, wantConc: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{name: "C<N", requests: 12, concurrency: 4, wantShards: 4,
			wantSizes: []int{3, 3, 3, 3}, wantConc: []int{1, 1, 1, 1}},
		{name: "N>MaxShards", requests: 120, maxShards: 50, wantShards: 50},
		{name: "explicit fire lead", requests: 5, concurrency: 5, fireLead: 3 * time.Second, wantShards: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput(tc.requests)
			in.Concurrency = tc.concurrency
			in.MaxShards = tc.maxShards
			in.FireLead = tc.fireLead
			in.Passes = testrun.PassesConcurrent
			wantC := tc.concurrency
			if wantC == 0 {
				wantC = tc.requests
			}

			// Every shard blocks until all the shards have started: the
			// workflow passes only if it scheduled them all before any
			// completed.
			f := newFakeSend()
			var (
				gateMu   sync.Mutex
				entered  int
				timedOut bool
				allIn    = make(chan struct{})
			)
			f.before = func(activities.SendInput) {
				gateMu.Lock()
				entered++
				if entered == tc.wantShards {
					close(allIn)
				}
				gateMu.Unlock()
				select {
				case <-allIn:
				case <-time.After(gateTimeout):
					gateMu.Lock()
					timedOut = true
					gateMu.Unlock()
				}
			}
			env := newEnv(t, f)
			env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
			r := runResult(t, env, f)

			gateMu.Lock()
			assert.False(t, timedOut, "not all %d shards were running at once (%d entered)", tc.wantShards, entered)
			gateMu.Unlock()
			calls := f.callsOf(record.PassConcurrent)
			require.Len(t, calls, tc.wantShards)
			assert.Equal(t, tc.wantShards, f.max(record.PassConcurrent))
			assert.Empty(t, f.callsOf(record.PassSequential))

			// The shards arrive in any order: sort them by first index.
			sort.Slice(calls, func(i, j int) bool { return calls[i].Requests[0].Index < calls[j].Requests[0].Index })
			fireAt := calls[0].FireAt
			require.False(t, fireAt.IsZero(), "the concurrent pass needs a common send instant")
			lead := tc.fireLead
			if lead == 0 {
				c := tc.concurrency
				if c == 0 {
					c = tc.requests // C defaults to N
				}
				lead = testrun.AutoFireLead(tc.wantShards) + testrun.ConnectLead(c)
			}
			assert.Equal(t, lead, fireAt.Sub(r.StartedAt), "FireAt is the scheduling time plus the fire lead")
			seen := map[int]int{}
			sumConc := 0
			for i, c := range calls {
				assert.True(t, c.FireAt.Equal(fireAt), "shard %d fires at %v, not %v", i, c.FireAt, fireAt)
				assert.Equal(t, record.PassConcurrent, c.Pass)
				assert.True(t, c.StopOnFatal)
				assert.GreaterOrEqual(t, c.Concurrency, 1)
				assert.LessOrEqual(t, c.Concurrency, len(c.Requests))
				sumConc += c.Concurrency
				for _, s := range c.Requests {
					seen[s.Index]++
					assert.Equal(t, fmt.Sprintf("prompt number %d", s.Index), s.Prompt)
				}
				if tc.wantSizes != nil {
					assert.Len(t, c.Requests, tc.wantSizes[i], "shard %d", i)
					assert.Equal(t, tc.wantConc[i], c.Concurrency, "shard %d", i)
				}
			}
			assert.Equal(t, wantC, sumConc, "the shards together must keep C requests in flight")
			require.Len(t, seen, tc.requests)
			for idx := range tc.requests {
				assert.Equal(t, 1, seen[idx], "request %d sent %d times", idx, seen[idx])
			}

			assert.Nil(t, r.Sequential)
			require.NotNil(t, r.Concurrent)
			assert.Equal(t, tc.wantShards, r.Concurrent.Shards)
			assert.True(t, r.Concurrent.FireAt.Equal(fireAt))
			assert.Equal(t, upTo(tc.requests), indexes(r.Concurrent.Records), "records ordered by index")
		})
	}
}

func TestFailedRequestsAreRecordedAndTheRunGoesOn(t *testing.T) {
	const n = 4
	f := newFakeSend()
	f.status = func(pass record.Pass, index int) int {
		switch {
		case pass == record.PassSequential && index == 1:
			return 500
		case pass == record.PassConcurrent && index == 2:
			return 429
		}
		return 0
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n).WithDefaults())
	r := runResult(t, env, f)

	assert.Len(t, f.callsOf(record.PassSequential), n)
	assert.Len(t, f.callsOf(record.PassConcurrent), n)
	require.NotNil(t, r.Sequential)
	require.NotNil(t, r.Concurrent)
	assert.Equal(t, upTo(n), indexes(r.Sequential.Records))
	assert.Equal(t, upTo(n), indexes(r.Concurrent.Records))
	for _, tc := range []struct {
		recs   []record.Request
		failed int
		status int
	}{{r.Sequential.Records, 1, 500}, {r.Concurrent.Records, 2, 429}} {
		for _, rec := range tc.recs {
			if rec.Index == tc.failed {
				assert.False(t, rec.OK)
				assert.Equal(t, tc.status, rec.HTTPStatus)
				assert.Equal(t, fmt.Sprintf("HTTP %d: simulated failure", tc.status), rec.Error)
				assert.NotEmpty(t, rec.SentAt)
			} else {
				assert.True(t, rec.OK, "%s #%d", rec.Pass, rec.Index)
			}
		}
	}
	assert.Empty(t, r.Aborted)

	p := progress(t, env, 0)
	assert.Equal(t, "done", p.Phase)
	require.NotNil(t, p.Sequential.Summary)
	require.NotNil(t, p.Concurrent.Summary)
	assert.Equal(t, 1, p.Sequential.Summary.Failed)
	assert.Equal(t, n-1, p.Sequential.Summary.Successful)
	assert.Equal(t, 1, p.Concurrent.Summary.Failed)
}

func TestFatalStatusAbortsTheSequentialPass(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{401, "rejected the API key (HTTP 401)"},
		{403, "rejected the API key (HTTP 403)"},
		{404, "does not know model \"test-model\" (HTTP 404)"},
		{400, "malformed (HTTP 400)"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			const n, fatalAt = 5, 2
			f := newFakeSend()
			f.status = func(pass record.Pass, index int) int {
				if index == fatalAt {
					return tc.status
				}
				return 0
			}
			env := newEnv(t, f)
			env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n).WithDefaults())
			appErr, r := abortedResult(t, env, f)

			assert.Contains(t, appErr.Message(), tc.want)
			seq := f.callsOf(record.PassSequential)
			require.Len(t, seq, fatalAt+1, "no request may be sent after the fatal one")
			assert.Empty(t, f.callsOf(record.PassConcurrent), "the concurrent pass must not run")

			require.NotNil(t, r.Sequential, "the records measured so far must be in the details")
			assert.Equal(t, upTo(fatalAt+1), indexes(r.Sequential.Records))
			assert.Equal(t, tc.status, r.Sequential.Records[fatalAt].HTTPStatus)
			assert.False(t, r.Sequential.Records[fatalAt].OK)
			assert.True(t, r.Sequential.Records[0].OK)
			assert.Nil(t, r.Concurrent)
			assert.Equal(t, testEndpoint, r.Endpoint)
			assert.False(t, r.FinishedAt.IsZero())

			p := progress(t, env, 0)
			assert.Equal(t, "aborted", p.Phase)
			assert.Equal(t, appErr.Message(), p.Aborted)
			assert.Equal(t, fatalAt+1, p.Sequential.Done)
			assert.Equal(t, 0, p.Concurrent.Done)
		})
	}
}

func TestFatalStatusAbortsTheConcurrentPass(t *testing.T) {
	const n, fatalAt = 6, 3
	f := newFakeSend()
	f.status = func(pass record.Pass, index int) int {
		if pass == record.PassConcurrent && index == fatalAt {
			return 401
		}
		return 0
	}
	// The fatal shard answers once every shard has started; the others hang
	// until the test is over: the run must end on the fatal answer without
	// waiting for them.
	var (
		gateMu  sync.Mutex
		entered int
		allIn   = make(chan struct{})
		release = make(chan struct{})
	)
	defer close(release)
	f.before = func(in activities.SendInput) {
		if in.Pass != record.PassConcurrent {
			return
		}
		gateMu.Lock()
		entered++
		if entered == n {
			close(allIn)
		}
		gateMu.Unlock()
		wait := release
		if in.Requests[0].Index == fatalAt {
			wait = allIn
		}
		select {
		case <-wait:
		case <-time.After(gateTimeout):
		}
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n).WithDefaults())
	appErr, r := abortedResult(t, env, f)

	assert.Contains(t, appErr.Message(), "HTTP 401")
	assert.Len(t, f.callsOf(record.PassConcurrent), n, "every shard was scheduled")
	require.NotNil(t, r.Sequential)
	assert.Equal(t, upTo(n), indexes(r.Sequential.Records))
	require.NotNil(t, r.Concurrent)
	require.Equal(t, []int{fatalAt}, indexes(r.Concurrent.Records), "only the fatal answer had arrived")
	assert.Equal(t, 401, r.Concurrent.Records[0].HTTPStatus)
	assert.Equal(t, n, r.Concurrent.Shards)
	assert.False(t, r.Concurrent.FireAt.IsZero())
}

func TestActivityErrorBecomesAFailedRecord(t *testing.T) {
	const n, broken = 3, 1
	f := newFakeSend()
	f.fail = func(in activities.SendInput) error {
		if in.Pass == record.PassSequential && in.Requests[0].Index == broken {
			return errors.New("worker lost its network")
		}
		return nil
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n).WithDefaults())
	r := runResult(t, env, f)

	attempts := 0
	for _, c := range f.callsOf(record.PassSequential) {
		if c.Requests[0].Index == broken {
			attempts++
		}
	}
	assert.Equal(t, 3, attempts, "the activity is retried up to its retry policy's 3 attempts")
	assert.Len(t, f.callsOf(record.PassSequential), n+2)
	require.NotNil(t, r.Sequential)
	require.Equal(t, upTo(n), indexes(r.Sequential.Records))
	rec := r.Sequential.Records[broken]
	assert.False(t, rec.OK)
	assert.Contains(t, rec.Error, "the worker could not run the request")
	assert.Contains(t, rec.Error, "worker lost its network")
	assert.Empty(t, rec.SentAt, "the request was never sent")
	assert.Zero(t, rec.HTTPStatus)
	assert.Equal(t, "prompt number 1", rec.Prompt)
	assert.Equal(t, record.PassSequential, rec.Pass)
	assert.True(t, r.Sequential.Records[broken+1].OK, "the run goes on after the failed request")
	require.NotNil(t, r.Concurrent)
	assert.Len(t, r.Concurrent.Records, n)

	p := progress(t, env, 0)
	require.NotNil(t, p.Sequential.Summary)
	assert.Equal(t, 1, p.Sequential.Summary.Failed)
}

func TestShardActivityErrorFailsItsRequests(t *testing.T) {
	in := testInput(4)
	in.Concurrency = 2 // shards {0, 2} and {1, 3}
	in.Passes = testrun.PassesConcurrent
	f := newFakeSend()
	f.fail = func(in activities.SendInput) error {
		if in.Requests[0].Index == 1 {
			return temporal.NewNonRetryableApplicationError("shard broke", "test", nil)
		}
		return nil
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	require.NotNil(t, r.Concurrent)
	require.Equal(t, upTo(4), indexes(r.Concurrent.Records))
	for _, rec := range r.Concurrent.Records {
		if rec.Index%2 == 1 {
			assert.False(t, rec.OK)
			assert.Contains(t, rec.Error, "the worker could not run the request")
			assert.Contains(t, rec.Error, "shard broke")
		} else {
			assert.True(t, rec.OK, "#%d", rec.Index)
		}
	}
}

func TestInvalidInputIsRejectedBeforeAnyRequest(t *testing.T) {
	valid := testInput(3)
	for _, tc := range []struct {
		name   string
		mutate func(*testrun.Input)
		want   string
	}{
		{"concurrency above requests", func(in *testrun.Input) { in.Concurrency = 4 }, "-concurrency"},
		{"too few prompts", func(in *testrun.Input) { in.Prompts = in.Prompts[:2] }, "need one prompt per request"},
		{"too many prompts", func(in *testrun.Input) { in.Prompts = append(in.Prompts, "extra") }, "need one prompt per request"},
		{"negative requests", func(in *testrun.Input) { in.Requests = -1 }, "-requests"},
		{"too many requests", func(in *testrun.Input) { in.Requests = testrun.DefaultMaxRequests + 1 }, "-requests"},
		{"unknown passes", func(in *testrun.Input) { in.Passes = "sideways" }, "-passes"},
		{"empty model", func(in *testrun.Input) { in.Model = "" }, "-model"},
		{"negative max tokens", func(in *testrun.Input) { in.MaxTokens = -5 }, "-max-tokens"},
		{"negative shards", func(in *testrun.Input) { in.MaxShards = -1 }, "-shards"},
		{"negative fire lead", func(in *testrun.Input) { in.FireLead = -time.Second }, "fire lead"},
		{"negative timeout", func(in *testrun.Input) { in.Timeout = -time.Second }, "-timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid
			in.Prompts = append([]string(nil), valid.Prompts...)
			tc.mutate(&in)

			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			var mu sync.Mutex
			called := 0
			env.OnActivity(a.DescribeEndpoint, mock.Anything, mock.Anything).Return(func(context.Context, activities.DescribeInput) (record.Endpoint, error) {
				mu.Lock()
				called++
				mu.Unlock()
				return testEndpoint, nil
			})
			env.OnActivity(a.Send, mock.Anything, mock.Anything).Return(func(context.Context, activities.SendInput) (activities.SendOutput, error) {
				mu.Lock()
				called++
				mu.Unlock()
				return activities.SendOutput{}, nil
			})
			env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())

			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %v", err)
			assert.Equal(t, workflows.InvalidInputErrorType, appErr.Type())
			assert.True(t, appErr.NonRetryable())
			assert.Contains(t, appErr.Message(), tc.want)
			mu.Lock()
			assert.Zero(t, called, "no activity may run for an invalid input")
			mu.Unlock()
		})
	}
}

func TestProgressQuery(t *testing.T) {
	const n = 3
	f := newFakeSend()
	// Every batch takes 10s on the workflow clock: the sequential requests
	// end at 10s, 20s and 30s, the concurrent pass at 30s + lead + 10s.
	env := newEnvEvery(t, f, 10*time.Second)

	var checked []string
	env.RegisterDelayedCallback(func() {
		p := progress(t, env, 0)
		assert.Equal(t, string(record.PassSequential), p.Phase)
		assert.Equal(t, testrun.PassProgress{Total: n, Done: 1}, p.Sequential)
		assert.Equal(t, testrun.PassProgress{Total: n, Done: 0}, p.Concurrent)
		require.Len(t, p.Events, 1)
		assert.Equal(t, testrun.ProgressEvent{Pass: record.PassSequential, Index: 0, OK: true, HTTPStatus: 200, LatencySeconds: 1}, p.Events[0])
		assert.Equal(t, 1, p.Next)
		assert.Equal(t, testEndpoint, p.Endpoint)
		assert.Nil(t, p.Config.Prompts)
		assert.Equal(t, n, p.Config.Requests)
		checked = append(checked, "15s")
	}, 15*time.Second)
	env.RegisterDelayedCallback(func() {
		p := progress(t, env, 1)
		assert.Equal(t, string(record.PassConcurrent), p.Phase)
		assert.Equal(t, n, p.Sequential.Done)
		require.NotNil(t, p.Sequential.Summary, "the sequential pass is done: its summary must be there")
		assert.Equal(t, n, p.Sequential.Summary.Successful)
		assert.Nil(t, p.Concurrent.Summary)
		assert.Equal(t, 0, p.Concurrent.Done)
		assert.Equal(t, []int{1, 2}, eventIndexes(p.Events), "events from 1 on")
		assert.Equal(t, 3, p.Next)
		checked = append(checked, "35s")
	}, 35*time.Second)

	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(n).WithDefaults())
	runResult(t, env, f)
	assert.Equal(t, []string{"15s", "35s"}, checked, "both progress checks must have run during the run")

	p := progress(t, env, 0)
	assert.Equal(t, "done", p.Phase)
	assert.Empty(t, p.Aborted)
	assert.Equal(t, 2*n, p.Next)
	require.Len(t, p.Events, 2*n)
	for i, ev := range p.Events {
		wantPass := record.PassSequential
		if i >= n {
			wantPass = record.PassConcurrent
		}
		assert.Equal(t, wantPass, ev.Pass, "event %d", i)
		assert.True(t, ev.OK)
	}
	require.NotNil(t, p.Sequential.Summary)
	require.NotNil(t, p.Concurrent.Summary)
	assert.Equal(t, n, p.Concurrent.Summary.Successful)
	assert.Equal(t, n, p.Concurrent.Summary.MaxInFlight)
	assert.Equal(t, 1, p.Sequential.Summary.MaxInFlight)

	// Asking from the end, or from out of range, returns no events.
	for _, from := range []int{2 * n, 2*n + 5, -1} {
		p := progress(t, env, from)
		assert.Empty(t, p.Events, "from %d", from)
		assert.Equal(t, 2*n, p.Next, "from %d", from)
	}
}

func eventIndexes(evs []testrun.ProgressEvent) []int {
	out := make([]int, len(evs))
	for i, e := range evs {
		out[i] = e.Index
	}
	return out
}

func TestPassesSelectsOnePass(t *testing.T) {
	const n = 4
	t.Run("sequential", func(t *testing.T) {
		f := newFakeSend()
		env := newEnv(t, f)
		in := testInput(n)
		in.Passes = testrun.PassesSequential
		env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
		r := runResult(t, env, f)

		assert.Len(t, f.callsOf(record.PassSequential), n)
		assert.Empty(t, f.callsOf(record.PassConcurrent))
		require.NotNil(t, r.Sequential)
		assert.Len(t, r.Sequential.Records, n)
		assert.Nil(t, r.Concurrent)
		p := progress(t, env, 0)
		assert.Equal(t, n, p.Sequential.Total)
		assert.Zero(t, p.Concurrent.Total)
		assert.Nil(t, p.Concurrent.Summary)
	})
	t.Run("concurrent", func(t *testing.T) {
		f := newFakeSend()
		env := newEnv(t, f)
		in := testInput(n)
		in.Passes = testrun.PassesConcurrent
		env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
		r := runResult(t, env, f)

		assert.Empty(t, f.callsOf(record.PassSequential))
		assert.Len(t, f.callsOf(record.PassConcurrent), n)
		assert.Nil(t, r.Sequential)
		require.NotNil(t, r.Concurrent)
		assert.Len(t, r.Concurrent.Records, n)
		p := progress(t, env, 0)
		assert.Zero(t, p.Sequential.Total)
		assert.Nil(t, p.Sequential.Summary)
		assert.Equal(t, n, p.Concurrent.Total)
	})
}

func TestRunTimeoutStopsSendingNewRequests(t *testing.T) {
	const n = 4
	f := newFakeSend()
	env := newEnvEvery(t, f, 10*time.Second)
	in := testInput(n)
	in.Timeout = 25 * time.Second // requests start at 0s, 10s, 20s; 30s is too late
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	assert.Len(t, f.callsOf(record.PassSequential), 3)
	assert.Empty(t, f.callsOf(record.PassConcurrent))
	require.NotNil(t, r.Sequential)
	require.Equal(t, upTo(n), indexes(r.Sequential.Records))
	assert.False(t, r.Sequential.Records[3].OK)
	assert.Contains(t, r.Sequential.Records[3].Error, "-timeout")
	require.NotNil(t, r.Concurrent)
	require.Equal(t, upTo(n), indexes(r.Concurrent.Records))
	for _, rec := range r.Concurrent.Records {
		assert.False(t, rec.OK)
		assert.Contains(t, rec.Error, "not sent")
	}
	assert.Zero(t, r.Concurrent.Shards)
}

func TestShard(t *testing.T) {
	specs := func(n int) []activities.RequestSpec {
		s := make([]activities.RequestSpec, n)
		for i := range s {
			s[i] = activities.RequestSpec{Index: i, Prompt: fmt.Sprint("p", i)}
		}
		return s
	}
	for _, tc := range []struct {
		name                       string
		n, concurrency, maxShards  int
		wantSizes, wantConcurrency []int
	}{
		{"one request per shard", 10, 10, 50, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{"fewer slots than requests", 12, 4, 50, []int{3, 3, 3, 3}, []int{1, 1, 1, 1}},
		{"capped by max shards", 120, 120, 50, append(repeat(3, 20), repeat(2, 30)...), append(repeat(3, 20), repeat(2, 30)...)},
		{"slots spread over few shards", 10, 7, 3, []int{4, 3, 3}, []int{3, 2, 2}},
		{"concurrency 1", 5, 1, 50, []int{5}, []int{1}},
		{"one shard", 6, 6, 1, []int{6}, []int{6}},
		{"single request", 1, 1, 50, []int{1}, []int{1}},
		{"no requests", 0, 5, 50, nil, nil},
		{"no shards", 5, 5, 0, nil, nil},
		{"no concurrency", 5, 0, 50, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := workflows.Shard(specs(tc.n), tc.concurrency, tc.maxShards)
			var sizes, conc []int
			for _, sh := range got {
				sizes = append(sizes, len(sh.Requests))
				conc = append(conc, sh.Concurrency)
			}
			assert.Equal(t, tc.wantSizes, sizes)
			assert.Equal(t, tc.wantConcurrency, conc)
		})
	}
	t.Run("round robin", func(t *testing.T) {
		got := workflows.Shard(specs(7), 3, 50)
		require.Len(t, got, 3)
		want := [][]int{{0, 3, 6}, {1, 4}, {2, 5}}
		for i, sh := range got {
			var idx []int
			for _, s := range sh.Requests {
				idx = append(idx, s.Index)
				assert.Equal(t, fmt.Sprint("p", s.Index), s.Prompt)
			}
			assert.Equal(t, want[i], idx)
		}
	})
	t.Run("invariants", func(t *testing.T) {
		for n := 1; n <= 40; n++ {
			for c := 1; c <= n; c++ {
				for maxShards := 1; maxShards <= 12; maxShards++ {
					got := workflows.Shard(specs(n), c, maxShards)
					name := fmt.Sprintf("N=%d C=%d max=%d", n, c, maxShards)
					if !assert.Len(t, got, min(n, c, maxShards), name) {
						return
					}
					seen := make([]int, n)
					sum, smallest, largest := 0, n, 0
					for _, sh := range got {
						smallest, largest = min(smallest, len(sh.Requests)), max(largest, len(sh.Requests))
						if sh.Concurrency < 1 || sh.Concurrency > len(sh.Requests) {
							t.Fatalf("%s: shard with %d requests has concurrency %d", name, len(sh.Requests), sh.Concurrency)
						}
						sum += sh.Concurrency
						for _, s := range sh.Requests {
							seen[s.Index]++
						}
					}
					if sum != c {
						t.Fatalf("%s: shards keep %d requests in flight, want %d", name, sum, c)
					}
					if largest-smallest > 1 {
						t.Fatalf("%s: unbalanced shards, %d to %d requests", name, smallest, largest)
					}
					for i, k := range seen {
						if k != 1 {
							t.Fatalf("%s: request %d in %d shards", name, i, k)
						}
					}
				}
			}
		}
	})
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestAutoFireLead(t *testing.T) {
	for _, tc := range []struct {
		shards int
		want   time.Duration
	}{
		{0, 500 * time.Millisecond},
		{1, 510 * time.Millisecond},
		{10, 600 * time.Millisecond},
		{50, time.Second},
		{100, 1500 * time.Millisecond},
	} {
		assert.Equal(t, tc.want, testrun.AutoFireLead(tc.shards), "%d shards", tc.shards)
	}
	for s := 1; s <= 200; s++ {
		assert.Greater(t, testrun.AutoFireLead(s), testrun.AutoFireLead(s-1), "more shards need more lead")
	}
}
