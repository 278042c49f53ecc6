package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// The warm-up requests go first, one after another, with their own prompts
// and a small max_tokens; they are kept apart and take part in no figure.
func TestWarmupBeforeTheSequentialPass(t *testing.T) {
	const n = 4
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(n)
	in.MaxTokens = 100
	in.Warmup = 2
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	log := f.logCopy()
	require.GreaterOrEqual(t, len(log), 4)
	assert.Equal(t, []string{"start warmup [0]", "end warmup [0]", "start warmup [1]", "end warmup [1]"}, log[:4])
	for k, c := range f.callsOf(record.PassWarmup) {
		assert.Equal(t, workflows.WarmupPrompt(k), c.Requests[0].Prompt)
		assert.Equal(t, 16, c.MaxTokens)
		assert.NotContains(t, in.Prompts, c.Requests[0].Prompt, "a warm-up prompt is none of the measured ones")
	}
	require.NotNil(t, r.Warmup)
	assert.Len(t, r.Warmup.Records, 2)
	assert.Equal(t, 2, r.Warmup.Summary.Successful)
	assert.Equal(t, n, r.Sequential.Summary.Successful+r.Sequential.Summary.Failed, "the warm-up is not in the sequential pass")
	assert.Len(t, r.Sequential.Records, n)
	p := progress(t, env, 0)
	for _, ev := range p.Events {
		assert.NotEqual(t, record.PassWarmup, ev.Pass, "warm-up requests are not progress events")
	}
	assert.Equal(t, n, p.Sequential.Total)
}

// Without -warmup nothing is sent before the sequential pass.
func TestNoWarmup(t *testing.T) {
	f := newFakeSend()
	env := newEnv(t, f)
	env.ExecuteWorkflow(workflows.ConcurrencyTest, testInput(3).WithDefaults())
	r := runResult(t, env, f)
	assert.Nil(t, r.Warmup)
	assert.Empty(t, f.callsOf(record.PassWarmup))
	assert.Equal(t, "start sequential [0]", f.logCopy()[0])
}

// A rejected key at the warm-up ends the run before anything is measured.
func TestWarmupFatalEndsTheRun(t *testing.T) {
	f := newFakeSend()
	f.status = func(pass record.Pass, _ int) int {
		if pass == record.PassWarmup {
			return 401
		}
		return 0
	}
	env := newEnv(t, f)
	in := testInput(3)
	in.Warmup = 3
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	appErr, r := abortedResult(t, env, f)
	assert.Contains(t, appErr.Message(), "at the warm-up")
	assert.Contains(t, appErr.Message(), "OPENAI_API_KEY")
	assert.Len(t, f.callsOf(record.PassWarmup), 1, "no second warm-up after a fatal answer")
	assert.Empty(t, f.callsOf(record.PassSequential))
	assert.Empty(t, f.callsOf(record.PassConcurrent))
	require.NotNil(t, r.Warmup)
	assert.Len(t, r.Warmup.Records, 1)
}

// -repeat's other order: the concurrent pass first, then the sequential.
func TestConcurrentFirst(t *testing.T) {
	const n = 4
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(n)
	in.Order = testrun.OrderConcurrentFirst
	in.Warmup = 1
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)
	log := f.logCopy()
	lastConc, firstSeq := -1, -1
	for i, l := range log {
		if strings.HasPrefix(l, "end concurrent") {
			lastConc = i
		}
		if strings.HasPrefix(l, "start sequential") && firstSeq < 0 {
			firstSeq = i
		}
	}
	assert.Equal(t, "start warmup [0]", log[0])
	assert.Less(t, lastConc, firstSeq, "every concurrent batch ends before the first sequential request: %v", log)
	assert.Len(t, r.Sequential.Records, n)
	assert.Len(t, r.Concurrent.Records, n)
	assert.Equal(t, testrun.OrderConcurrentFirst, r.Config.Order)
}

func TestOrderValidation(t *testing.T) {
	in := testInput(3).WithDefaults()
	in.Order = "backwards"
	assert.ErrorContains(t, in.Validate(), "pass order")
	in.Order = testrun.OrderConcurrentFirst
	in.Passes = testrun.PassesConcurrent
	assert.ErrorContains(t, in.Validate(), "both passes")
	in = testInput(3).WithDefaults()
	in.Warmup = testrun.MaxWarmup + 1
	assert.ErrorContains(t, in.Validate(), "-warmup")
	in.Warmup = -1
	assert.ErrorContains(t, in.Validate(), "-warmup")
}

// notAStream makes a streamed request's record the failure of an endpoint
// that answers "stream": true with plain JSON.
func notAStream(in activities.SendInput, rec *record.Request) {
	if in.Stream {
		rec.OK, rec.ErrorKind, rec.Stream = false, record.ErrorKindMalformedResponse, true
		rec.Error = "stream ended before the response was complete: no finish_reason and no data: [DONE] (no events; the response is application/json, not text/event-stream)"
	}
}

// Streaming by default (StreamAuto): an endpoint that does not stream is
// measured without streaming, and the result says so. Asked for
// explicitly, streaming stays on.
func TestStreamFallsBackWhenTheEndpointDoesNotStream(t *testing.T) {
	for _, auto := range []bool{true, false} {
		f := newFakeSend()
		f.modify = notAStream
		env := newEnv(t, f)
		in := testInput(3)
		in.Stream, in.StreamAuto, in.Warmup = true, auto, 1
		env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
		r := runResult(t, env, f)
		for _, c := range append(f.callsOf(record.PassSequential), f.callsOf(record.PassConcurrent)...) {
			assert.Equal(t, !auto, c.Stream, "auto %v", auto)
		}
		assert.True(t, f.callsOf(record.PassWarmup)[0].Stream)
		if auto {
			assert.Contains(t, r.StreamOff, "not an event stream")
			assert.False(t, r.Config.Stream)
			assert.Equal(t, 3, r.Sequential.Summary.Successful)
		} else {
			assert.Empty(t, r.StreamOff)
			assert.Equal(t, 3, r.Sequential.Summary.Failed)
		}
	}
}

// streamedSerial makes the records of a server that serves one request at
// a time and became ten times faster after the sequential pass: each
// sequential request takes 20 s, and the concurrent pass's requests, all
// sent at once, generate for 1 s each, one after another.
func streamedSerial(in activities.SendInput, rec *record.Request) {
	rec.Stream = true
	gaps := make([]float64, 50)
	for i := range gaps {
		gaps[i] = 0.02
	}
	rec.ChunkGapsSeconds = gaps
	var sent time.Time
	var ttft float64
	switch in.Pass {
	case record.PassConcurrent:
		sent, ttft = in.FireAt, 0.1+1.1*float64(rec.Index)
	default:
		sent, ttft = t0.Add(time.Duration(rec.Index)*21*time.Second), 19
	}
	latency := ttft + 1 + 0.01
	rec.TTFTSeconds = &ttft
	rec.SentAt = sent
	rec.ReceivedAt = sent.Add(time.Duration(latency * float64(time.Second)))
	rec.LatencySeconds = latency
}

// The verdict inside the workflow (its headline, the UI's details and the
// verdict search attribute) follows the streams: a serial server that sped
// up between the passes is serialized, not concurrent, and its impossible
// speedup is named.
func TestVerdictOfADriftingSerialServer(t *testing.T) {
	const n = 6
	f := newFakeSend()
	f.modify = streamedSerial
	env := newEnv(t, f)
	in := testInput(n)
	in.Stream = true
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	r := runResult(t, env, f)

	o := r.Concurrent.Summary.ObservedServerConcurrency
	require.NotNil(t, o)
	assert.True(t, o.Available, o.Reason)
	assert.Equal(t, 1, o.Max)
	cmp := analysis.Compare(r.Sequential.Summary, r.Concurrent.Summary)
	assert.Greater(t, cmp.Speedup, float64(n)*1.2, "the speedup is impossible")

	h := testrun.HeadlineOf(r)
	assert.Equal(t, analysis.VerdictSerialized, h.Verdict, h.Text)
	c := analysis.Conclude(&r.Sequential.Summary, &r.Concurrent.Summary, &cmp, n, n)
	assert.Equal(t, analysis.EvidenceObserved, c.Evidence)
	assert.Contains(t, c.Text, "changed between the passes")
}

// A rerun of the failed requests resends exactly those: no warm-up.
func TestNoWarmupInARerunOfFailedRequests(t *testing.T) {
	f := newFakeSend()
	env := newEnv(t, f)
	in := testInput(4)
	in.Warmup = 1
	in.Only = map[record.Pass][]int{record.PassSequential: {2}}
	env.ExecuteWorkflow(workflows.ConcurrencyTest, in.WithDefaults())
	runResult(t, env, f)
	assert.Empty(t, f.callsOf(record.PassWarmup))
	assert.Len(t, f.callsOf(record.PassSequential), 1)
}
