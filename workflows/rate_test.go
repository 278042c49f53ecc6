package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// With -rate, the concurrent pass's requests carry the seeded schedule's
// offsets, spread round robin over the shards, which share one send
// instant; the sequential pass is untouched, and the pass reports its
// target rate.
func TestRateSchedulesArrivals(t *testing.T) {
	const n = 40
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(n)
	in.Rate, in.Seed, in.MaxShards = 20, 5, 4
	in = in.WithDefaults()
	require.NoError(t, in.Validate())
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in)
	r := runResult(t, env, f)

	want := testrun.ArrivalOffsets(n, 20, 1, 5)
	calls := f.callsOf(record.PassConcurrent)
	require.Len(t, calls, 4)
	got := map[int]time.Duration{}
	for _, c := range calls {
		assert.Equal(t, calls[0].FireAt, c.FireAt, "the shards share one send instant")
		assert.Len(t, c.Requests, n/4)
		for _, s := range c.Requests {
			got[s.Index] = s.SendOffset
		}
	}
	require.Len(t, got, n)
	for i, w := range want {
		assert.Equal(t, w, got[i], "request %d", i)
	}
	assert.Greater(t, want[n-1], time.Second, "the arrivals spread over about 2 s")
	for _, c := range f.callsOf(record.PassSequential) {
		assert.Zero(t, c.Requests[0].SendOffset, "the sequential pass is not paced")
	}
	require.NotNil(t, r.Concurrent)
	assert.Equal(t, 20.0, r.Concurrent.TargetRate)
	assert.Zero(t, r.Sequential.TargetRate)
	assert.Equal(t, int64(5), r.Config.Seed)
}

// Without -rate, the concurrent pass is one burst: no request has an
// offset and the pass has no target rate.
func TestNoRateIsOneBurst(t *testing.T) {
	f := newFakeSend()
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(6).WithDefaults())
	r := runResult(t, env, f)
	for _, c := range f.callsOf(record.PassConcurrent) {
		for _, s := range c.Requests {
			assert.Zero(t, s.SendOffset)
		}
	}
	assert.Zero(t, r.Concurrent.TargetRate)
}
