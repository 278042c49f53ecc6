package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

func TestSweepRunsOneConcurrentPassPerLevel(t *testing.T) {
	const n = 8
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(n)
	in.Passes, in.Sweep = testrun.PassesSweep, []int{1, 2, 4}
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	assert.Nil(t, r.Sequential, "a sweep runs no sequential pass")
	assert.Nil(t, r.Concurrent, "a sweep runs no plain concurrent pass")
	require.Len(t, r.Sweep, 3)
	for i, level := range in.Sweep {
		p := r.Sweep[i]
		assert.Equal(t, record.SweepPass(level), p.Pass)
		assert.Equal(t, level, p.Concurrency)
		assert.Equal(t, upTo(n), indexes(p.Records), "level %d has every request once", level)
		assert.Equal(t, n, p.Summary.Successful)
		calls := f.callsOf(p.Pass)
		total := 0
		for _, c := range calls {
			total += c.Concurrency
			assert.Equal(t, calls[0].FireAt, c.FireAt, "one send instant per level")
		}
		assert.Equal(t, level, total, "level %d keeps %d requests in flight", level, level)
		assert.Len(t, calls, level, "level %d: one shard per slot", level)
	}
	assert.True(t, f.callsOf(record.SweepPass(1))[0].FireAt.Before(f.callsOf(record.SweepPass(2))[0].FireAt), "levels run one after another")

	p := progress(t, env, 0)
	require.Len(t, p.Sweep, 3)
	assert.Equal(t, 4, p.Sweep[2].Concurrency)
	assert.Equal(t, n, p.Sweep[2].Done)
	assert.NotNil(t, p.Sweep[2].Summary)
}

func TestSweepInputIsChecked(t *testing.T) {
	for name, mutate := range map[string]func(*testrun.Input){
		"levels without passes sweep": func(in *testrun.Input) { in.Sweep = []int{1, 2} },
		"passes sweep without levels": func(in *testrun.Input) { in.Passes = testrun.PassesSweep },
		"level above requests":        func(in *testrun.Input) { in.Passes, in.Sweep = testrun.PassesSweep, []int{1, 9} },
		"level zero":                  func(in *testrun.Input) { in.Passes, in.Sweep = testrun.PassesSweep, []int{0, 2} },
		"level twice":                 func(in *testrun.Input) { in.Passes, in.Sweep = testrun.PassesSweep, []int{2, 2} },
	} {
		t.Run(name, func(t *testing.T) {
			in := testInput(8).WithDefaults()
			mutate(&in)
			assert.Error(t, in.Validate())
		})
	}
	ok := testInput(8).WithDefaults()
	ok.Passes, ok.Sweep = testrun.PassesSweep, []int{8, 1}
	assert.NoError(t, ok.Validate())
}
