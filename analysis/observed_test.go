package analysis_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// gen returns a successful streamed record sent at from whose first content
// chunk arrives at start and whose chunks then come every gap seconds, n
// chunks in all; the response ends 10 ms after the last chunk.
func gen(index int, from, start float64, n int, gap float64) record.Request {
	gaps := make([]float64, max(n-1, 0))
	for i := range gaps {
		gaps[i] = gap
	}
	end := start + float64(len(gaps))*gap + 0.01
	r := streamed(from, end, start-from, gap, gaps...)
	r.Index = index
	return r
}

// serial: each request generates 1 s, the next starts 0.1 s after the last
// chunk of the one before; all were sent at 0 (the concurrent pass of a
// server that serves one at a time).
func serial(n int) []record.Request {
	var recs []record.Request
	for i := range n {
		start := 0.1 + float64(i)*1.1
		recs = append(recs, gen(i, 0, start, 51, 0.02))
	}
	return recs
}

func TestObserveSerial(t *testing.T) {
	o := analysis.Observe(serial(6))
	require.NotNil(t, o)
	assert.True(t, o.Available, o.Reason)
	assert.Equal(t, 1, o.Max)
	assert.Equal(t, 1, o.P50)
	assert.Equal(t, 6, o.Intervals)
	assert.Equal(t, 6, o.Streamed)
	// 6 s of generation over a span of 6.5 s (5 pauses of 0.1 s)
	assert.InDelta(t, 6.0/6.5, o.Mean, 1e-6)
	assert.InDelta(t, 6.5, o.SpanSeconds, 1e-6)
	assert.InDelta(t, 0.02, o.ResolutionSeconds, 1e-9)
	assert.Greater(t, o.Coverage, 0.8)
	// the order of the records does not matter
	assert.Equal(t, o, analysis.Observe(reversed(serial(6))))
}

func TestObserveAllAtOnce(t *testing.T) {
	var recs []record.Request
	for i := range 8 {
		recs = append(recs, gen(i, 0, 0.3+0.001*float64(i), 101, 0.02))
	}
	o := analysis.Observe(recs)
	assert.True(t, o.Available, o.Reason)
	assert.Equal(t, 8, o.Max)
	assert.Equal(t, 8, o.P50)
	assert.InDelta(t, 8, o.Mean, 0.05)
}

// A server capped at 3: nine requests in three waves of three.
func TestObserveCapped(t *testing.T) {
	var recs []record.Request
	for i := range 9 {
		wave := float64(i / 3)
		recs = append(recs, gen(i, 0, 0.1+wave*1.2+0.001*float64(i%3), 51, 0.02))
	}
	o := analysis.Observe(recs)
	assert.True(t, o.Available, o.Reason)
	assert.Equal(t, 3, o.Max)
	assert.Equal(t, 3, o.P50)
}

// An overlap shorter than a chunk gap (here 5 ms against 20 ms gaps: a
// serial server whose next first chunk arrived before the previous last one
// because the two connections were read at different moments) does not
// count; one of several gaps does.
func TestObserveResolution(t *testing.T) {
	recs := serial(4)
	recs[2] = gen(2, 0, 2.2-0.005, 51, 0.02) // #1 ends at 2.2 s: this starts 5 ms before
	o := analysis.Observe(recs)
	assert.Equal(t, 1, o.Max, "a 5 ms overlap is below the 20 ms resolution")
	recs[2] = gen(2, 0, 2.2-0.2, 51, 0.02) // 200 ms
	assert.Equal(t, 2, analysis.Observe(recs).Max)
}

// Touching intervals (one ends at the instant the next starts) do not
// overlap.
func TestObserveTouching(t *testing.T) {
	a := gen(0, 0, 1, 11, 0.1) // 1 s .. 2 s
	b := gen(1, 0, 2, 11, 0.1) // 2 s .. 3 s
	o := analysis.Observe([]record.Request{a, b})
	assert.Equal(t, 1, o.Max)
	assert.InDelta(t, 1, o.Mean, 1e-6)
}

// The time-weighted median: level 0 for 1 s, 1 for 1 s, 3 for 2 s.
func TestObserveMedianAndMean(t *testing.T) {
	recs := []record.Request{
		gen(0, 0, 0, 11, 0.1),  // 0..1
		gen(1, 0, 2, 21, 0.1),  // 2..4
		gen(2, 0, 2, 21, 0.1),  // 2..4
		gen(3, 0, 2, 21, 0.1),  // 2..4
		gen(4, 0, 1.5, 1, 0.1), // one chunk: no interval
	}
	o := analysis.Observe(recs)
	assert.Equal(t, 4, o.Intervals)
	assert.Equal(t, 5, o.Streamed)
	assert.True(t, o.Available, "4 of 5 is 80%%: %s", o.Reason)
	assert.InDelta(t, 4, o.SpanSeconds, 1e-6)
	assert.InDelta(t, (0*1+1*1+3*2)/4.0, o.Mean, 1e-6)
	assert.Equal(t, 1, o.P50, "the level is at most 1 for exactly half the span")
	assert.Equal(t, 3, o.Max)
}

func TestObserveUnavailable(t *testing.T) {
	one := func(i int) record.Request { return gen(i, 0, 1, 1, 0) } // a single content chunk
	for _, tc := range []struct {
		name   string
		recs   []record.Request
		reason string
	}{
		{"single-chunk answers", []record.Request{one(0), one(1), one(2)}, "only 0 of 3"},
		{"one interval", []record.Request{gen(0, 0, 0.1, 11, 0.1)}, "at least two"},
		{"too few intervals", []record.Request{gen(0, 0, 0.1, 11, 0.1), gen(1, 0, 0.1, 11, 0.1), one(2), one(3)}, "could hide an overlap"},
		{"buffered stream", func() []record.Request {
			// a concurrent server behind a buffering proxy: each response's
			// 50 chunks arrive within 50 µs, at the end of its 2 s
			var recs []record.Request
			for i := range 5 {
				recs = append(recs, gen(i, 0, 2+0.1*float64(i), 50, 1e-6))
			}
			return recs
		}(), "buffers its stream"},
		{"every streamed request failed", func() []record.Request {
			r := gen(0, 0, 1, 11, 0.1)
			r.OK = false
			return []record.Request{r}
		}(), "no streamed request succeeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := analysis.Observe(tc.recs)
			require.NotNil(t, o)
			assert.False(t, o.Available)
			assert.Contains(t, o.Reason, tc.reason)
		})
	}
}

// Failed requests have no interval and do not count; a pass that streamed
// nothing has no observation at all.
func TestObserveFailuresAndNoStream(t *testing.T) {
	recs := serial(5)
	bad := gen(5, 0, 0.5, 51, 0.02) // would overlap #0 if it counted
	bad.OK = false
	o := analysis.Observe(append(recs, bad))
	assert.Equal(t, 1, o.Max)
	assert.Equal(t, 5, o.Intervals)
	assert.Nil(t, analysis.Observe([]record.Request{sent(0, 1), sent(0, 1)}))
	assert.Nil(t, analysis.Summarize([]record.Request{sent(0, 1)}).ObservedServerConcurrency)
	s := analysis.Summarize(serial(3))
	require.NotNil(t, s.ObservedServerConcurrency)
	assert.Equal(t, 1, s.ObservedServerConcurrency.Max)
}

func TestObservedJSON(t *testing.T) {
	b, err := json.Marshal(analysis.Observe(serial(3)))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, []string{"available", "coverage", "intervals", "max", "mean", "p50", "resolution_seconds", "span_seconds", "streamed"}, sortedKeys(m))
}

func TestGenerationIntervals(t *testing.T) {
	iv := analysis.GenerationIntervals(reversed(serial(3)))
	require.Len(t, iv, 3)
	for i, v := range iv {
		assert.Equal(t, i, v.Index)
		assert.InDelta(t, 1.0, v.End.Sub(v.Start).Seconds(), 1e-6)
	}
}

// observed returns a concurrent pass of 10 requests whose observed server
// concurrency is max (available).
func observed(max int, total float64) *analysis.PassSummary {
	p := pass(10, 0, total)
	p.MaxInFlight = 10
	p.ObservedServerConcurrency = &analysis.ObservedConcurrency{Available: true, Max: max, Mean: float64(max) * 0.9, P50: max, Intervals: 10, Streamed: 10}
	return p
}

func TestConcludeObserved(t *testing.T) {
	unavailable := pass(10, 0, 10)
	unavailable.ObservedServerConcurrency = &analysis.ObservedConcurrency{Reason: "the reason"}
	for _, tc := range []struct {
		name      string
		seq, conc *analysis.PassSummary
		cmp       *analysis.Comparison
		want      string
		evidence  string
		wantText  []string
	}{
		// the Ollama run: 62.35 s against 4.38 s from 6 requests
		{"no overlap beats an impossible speedup", pass(10, 0, 142.3), observed(1, 10), cmpWith(14.23),
			analysis.VerdictSerialized, analysis.EvidenceObserved, []string{"one response at a time", "max 1", "up to 10 were in flight", "impossible", "changed between the passes"}},
		{"no overlap beats a concurrent-looking speedup", pass(10, 0, 80), observed(1, 10), cmpWith(8),
			analysis.VerdictSerialized, analysis.EvidenceObserved, []string{"max 1", "8.0x"}},
		{"overlap beats a serial-looking speedup", pass(10, 0, 12), observed(7, 10), cmpWith(1.2),
			analysis.VerdictConcurrent, analysis.EvidenceObserved, []string{"up to 7", "at least 7"}},
		{"max just under 0.7 × 10", pass(10, 0, 12), observed(6, 10), cmpWith(1.2),
			analysis.VerdictPartiallyConcurrent, analysis.EvidenceObserved, []string{"at most 6", "10 were in flight"}},
		{"only the concurrent pass, observed", nil, observed(1, 10), nil,
			analysis.VerdictSerialized, analysis.EvidenceObserved, nil},
		{"only the concurrent pass, unavailable", nil, unavailable, nil,
			analysis.VerdictInconclusive, analysis.EvidenceNone, []string{"the reason", "-passes both"}},
		{"impossible speedup without observation", pass(10, 0, 142.3), pass(10, 0, 10), cmpWith(14.23),
			analysis.VerdictInconclusive, analysis.EvidenceNone, []string{"14.2x", "impossible", "changed between the passes", "not streamed"}},
		{"impossible speedup, observation unavailable", pass(10, 0, 142.3), unavailable, cmpWith(14.23),
			analysis.VerdictInconclusive, analysis.EvidenceNone, []string{"impossible", "the reason"}},
		{"12x of 10 is within the tolerance", pass(10, 0, 120), pass(10, 0, 10), cmpWith(12),
			analysis.VerdictConcurrent, analysis.EvidenceSpeedup, nil},
		{"the speedup decides when the streams cannot", pass(10, 0, 20), unavailable, cmpWith(2),
			analysis.VerdictPartiallyConcurrent, analysis.EvidenceSpeedup, []string{"could not decide: the reason"}},
		{"no overlap proves nothing when nothing was in flight together", pass(10, 0, 20), func() *analysis.PassSummary { p := observed(1, 20); p.MaxInFlight = 1; return p }(), cmpWith(1),
			analysis.VerdictSerialized, analysis.EvidenceSpeedup, []string{"never had two requests in flight"}},
		{"failures still come first", pass(10, 0, 20), func() *analysis.PassSummary { p := observed(1, 10); p.Failed = 5; return p }(), cmpWith(2),
			analysis.VerdictInconclusive, analysis.EvidenceNone, []string{"failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := analysis.Conclude(tc.seq, tc.conc, tc.cmp, 10, 10)
			assert.Equal(t, tc.want, c.Verdict, "%s", c.Text)
			assert.Equal(t, tc.evidence, c.Evidence)
			for _, s := range tc.wantText {
				assert.Contains(t, c.Text, s)
			}
		})
	}
}

// The sequential pass's dispatch gaps are orchestration, not the endpoint's
// work: they do not make a speedup impossible.
func TestImpossibleSpeedupNetOfDispatchGaps(t *testing.T) {
	seq := analysis.PassSummary{TotalSeconds: 13, DispatchGapSeconds: 2}
	conc := analysis.PassSummary{TotalSeconds: 1}
	assert.False(t, analysis.ImpossibleSpeedup(seq, conc, 10), "11x net of 2 s of gaps is within 10 × 1.2")
	seq.DispatchGapSeconds = 0.5
	assert.True(t, analysis.ImpossibleSpeedup(seq, conc, 10))
	assert.False(t, analysis.ImpossibleSpeedup(seq, analysis.PassSummary{}, 10))
}

// Few, large chunks: the resolution stays a tenth of an interval, so that
// requests generating together but started a little apart still overlap.
func TestObserveCoarseChunks(t *testing.T) {
	var recs []record.Request
	for i := range 4 {
		recs = append(recs, gen(i, 0, 0.5+0.3*float64(i), 3, 0.5)) // 1 s each, in two gaps, started 0.3 s apart
	}
	o := analysis.Observe(recs)
	assert.InDelta(t, 0.1, o.ResolutionSeconds, 1e-9)
	assert.Equal(t, 4, o.Max, "0.1 s of all four at once counts")
}
