package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// probeInput is the input `starter probe -max-concurrency max` gives.
func probeInput(max int) testrun.Input {
	p := testrun.Probe{MaxConcurrency: max, MaxWait: testrun.DefaultProbeMaxWait}
	return testrun.ProbeInput(testInput(1), p, testPrompts).WithDefaults()
}

// TestProbeStopsPastTheLimit: levels 1, 2, 4, … each send twice the level
// as one concurrent burst; at 8 more than half are answered 429, and the
// probe stops there without sending 16.
func TestProbeStopsPastTheLimit(t *testing.T) {
	f := newFakeSend()
	f.status = func(pass record.Pass, index int) int {
		if level, _ := pass.SweepLevel(); level >= 8 && index >= 6 {
			return 429
		}
		return 0
	}
	env := newEnv(t, f)
	in := probeInput(16)
	require.Equal(t, []int{1, 2, 4, 8, 16}, in.Sweep)
	require.NoError(t, in.Validate())
	env.ExecuteWorkflow(workflows.ConcurrencyProbe, in)
	r := runResult(t, env, f)

	require.Len(t, r.Sweep, 4, "the probe stops after level 8")
	for i, level := range []int{1, 2, 4, 8} {
		p := r.Sweep[i]
		assert.Equal(t, level, p.Concurrency)
		assert.Equal(t, upTo(2*level), indexes(p.Records), "level %d sends twice the level", level)
		total := 0
		for _, c := range f.callsOf(p.Pass) {
			total += c.Concurrency
		}
		assert.Equal(t, level, total, "level %d keeps %d requests in flight", level, level)
	}
	assert.Empty(t, f.callsOf(record.SweepPass(16)))
	require.NotNil(t, r.Probe)
	assert.Contains(t, r.Probe.Stopped, "10 of the 16 requests at concurrency 8 were rate-limited")
	assert.Len(t, progress(t, env, 0).Sweep, 4, "the progress shows the levels sent")
}

// TestProbeWaitsForTheWindow: when a level's last answer says the window
// has fewer requests left than the next level sends, the probe sleeps
// until its reset before the next level.
func TestProbeWaitsForTheWindow(t *testing.T) {
	f := newFakeSend()
	f.modify = func(in activities.SendInput, rec *record.Request) {
		remaining := 100
		if in.Pass == record.SweepPass(2) {
			remaining = 1
		}
		limit := 120
		rec.RateLimit = &record.RateLimit{LimitRequests: &limit, RemainingRequests: &remaining, ResetRequests: "30s"}
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyProbe, probeInput(4))
	r := runResult(t, env, f)

	require.Len(t, r.Sweep, 3)
	require.NotNil(t, r.Probe)
	assert.Empty(t, r.Probe.Stopped)
	require.Len(t, r.Probe.Waits, 1, "one wait, before level 4: %+v", r.Probe.Waits)
	assert.Equal(t, 4, r.Probe.Waits[0].Before)
	assert.Equal(t, 30.0, r.Probe.Waits[0].Seconds)
	assert.Contains(t, r.Probe.Waits[0].Why, "1 requests remained")
	gap := f.callsOf(record.SweepPass(4))[0].FireAt.Sub(f.callsOf(record.SweepPass(2))[0].FireAt)
	assert.GreaterOrEqual(t, gap, 30*time.Second, "level 4 is sent after the window resets")
}

// TestProbeNeedsItsSettings: a ConcurrencyProbe started without probe
// settings is refused as invalid input.
func TestProbeNeedsItsSettings(t *testing.T) {
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(4).WithDefaults()
	env.ExecuteWorkflow(workflows.ConcurrencyProbe, in)
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	assert.Contains(t, env.GetWorkflowError().Error(), "no probe settings")
	assert.Empty(t, f.calls)
}
