package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestProgressQueryPagesLargePasses: the progress query of a pass larger than
// MaxProgressEvents answers in pages, each within the bound (its encoding
// far below the server's 4 MiB), and asking from Next while More is set
// yields every event once.
func TestProgressQueryPagesLargePasses(t *testing.T) {
	const n = 2*workflows.MaxProgressEvents + 345
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(n)
	in.Passes = testrun.PassesConcurrent
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	runResult(t, env, f)

	seen := map[int]bool{}
	from, pages := 0, 0
	for {
		p := progress(t, env, from)
		pages++
		require.LessOrEqual(t, len(p.Events), workflows.MaxProgressEvents)
		b, err := json.Marshal(p)
		require.NoError(t, err)
		assert.Less(t, len(b), 512<<10, "page %d: %d bytes", pages, len(b))
		for _, ev := range p.Events {
			assert.Equal(t, record.PassConcurrent, ev.Pass)
			assert.False(t, seen[ev.Index], "event of request %d twice", ev.Index)
			seen[ev.Index] = true
		}
		assert.Equal(t, from+len(p.Events), p.Next)
		from = p.Next
		if !p.More {
			break
		}
		require.Less(t, pages, 10, "the pages never end")
	}
	assert.Len(t, seen, n)
	assert.Equal(t, 3, pages)
	// Past the end: nothing, and no more.
	p := progress(t, env, from)
	assert.Empty(t, p.Events)
	assert.False(t, p.More)
	assert.Equal(t, n, p.Next)
}

// TestProgressQueryBoundsLongErrors: events with long error texts fill a
// page by their size, not only by their count.
func TestProgressQueryBoundsLongErrors(t *testing.T) {
	const n = 600
	f := newFakeSend()
	long := strings.Repeat("the server said no. ", 100)
	f.status = func(record.Pass, int) int { return 500 }
	f.modify = func(_ activities.SendInput, rec *record.Request) { rec.Error = long }
	env := newEnv(t, f)
	in := testInput(n)
	in.Passes = testrun.PassesConcurrent
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	_ = env.GetWorkflowError()

	p := progress(t, env, 0)
	require.True(t, p.More)
	b, err := json.Marshal(p)
	require.NoError(t, err)
	assert.Less(t, len(b), 512<<10)
	assert.Greater(t, len(p.Events), 100)
}
