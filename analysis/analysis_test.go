package analysis_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

const eps = 1e-9

var base = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time {
	return base.Add(time.Duration(sec * float64(time.Second)))
}

// sent returns a successful record sent at from and answered at to (seconds
// after base), with the matching latency.
func sent(from, to float64) record.Request {
	return record.Request{SentAt: at(from), ReceivedAt: at(to), LatencySeconds: to - from, OK: true, HTTPStatus: 200}
}

func failedAt(from, to float64, status int) record.Request {
	r := sent(from, to)
	r.OK, r.HTTPStatus, r.Error = false, status, fmt.Sprintf("HTTP %d", status)
	return r
}

// notSent is a record of a request that was never sent.
func notSent() record.Request {
	return record.Request{Error: "not sent: the run's -timeout had passed"}
}

func assertSummary(t *testing.T, want, got analysis.PassSummary) {
	t.Helper()
	assert.InDelta(t, want.TotalSeconds, got.TotalSeconds, eps, "total_seconds")
	assert.Equal(t, want.Successful, got.Successful, "successful")
	assert.Equal(t, want.Failed, got.Failed, "failed")
	assert.InDelta(t, want.AverageLatencySeconds, got.AverageLatencySeconds, eps, "average_latency_seconds")
	assert.InDelta(t, want.StartSpreadSeconds, got.StartSpreadSeconds, eps, "start_spread_seconds")
	assert.Equal(t, want.MaxInFlight, got.MaxInFlight, "max_in_flight")
	assert.InDelta(t, want.DispatchGapSeconds, got.DispatchGapSeconds, eps, "dispatch_gap_seconds")
}

func TestSummarize(t *testing.T) {
	withLatency := sent(0, 1)
	withLatency.LatencySeconds = 2.5 // the monotonic latency wins over the wall clock

	for _, tc := range []struct {
		name    string
		records []record.Request
		want    analysis.PassSummary
	}{
		{"no records", nil, analysis.PassSummary{}},
		{
			"sequential with gaps",
			[]record.Request{sent(0, 1), sent(1.5, 2.5), sent(3, 4.2)},
			analysis.PassSummary{TotalSeconds: 4.2, Successful: 3, AverageLatencySeconds: 3.2 / 3, StartSpreadSeconds: 3, MaxInFlight: 1, DispatchGapSeconds: 1.0},
		},
		{
			"touching intervals do not overlap",
			[]record.Request{sent(0, 1), sent(1, 2), sent(2, 3)},
			analysis.PassSummary{TotalSeconds: 3, Successful: 3, AverageLatencySeconds: 1, StartSpreadSeconds: 2, MaxInFlight: 1},
		},
		{
			"overlapping intervals",
			[]record.Request{sent(0, 2), sent(0.5, 1), sent(0.7, 3), sent(2.5, 4)},
			analysis.PassSummary{TotalSeconds: 4, Successful: 4, AverageLatencySeconds: (2 + 0.5 + 2.3 + 1.5) / 4, StartSpreadSeconds: 2.5, MaxInFlight: 3},
		},
		{
			"all at once",
			[]record.Request{sent(1, 3), sent(1, 2), sent(1, 4)},
			analysis.PassSummary{TotalSeconds: 3, Successful: 3, AverageLatencySeconds: 2, StartSpreadSeconds: 0, MaxInFlight: 3},
		},
		{
			"order does not matter",
			[]record.Request{sent(3, 4.2), sent(0, 1), sent(1.5, 2.5)},
			analysis.PassSummary{TotalSeconds: 4.2, Successful: 3, AverageLatencySeconds: 3.2 / 3, StartSpreadSeconds: 3, MaxInFlight: 1, DispatchGapSeconds: 1.0},
		},
		{
			"failed requests are timed but not averaged",
			[]record.Request{sent(0, 2), failedAt(0.5, 0.6, 500), failedAt(2.5, 2.6, 429)},
			analysis.PassSummary{TotalSeconds: 2.6, Successful: 1, Failed: 2, AverageLatencySeconds: 2, StartSpreadSeconds: 2.5, MaxInFlight: 2, DispatchGapSeconds: 0.5},
		},
		{
			"records without timestamps count as failed and take no part in the timings",
			[]record.Request{notSent(), sent(10, 11), notSent(), sent(12, 13)},
			analysis.PassSummary{TotalSeconds: 3, Successful: 2, Failed: 2, AverageLatencySeconds: 1, StartSpreadSeconds: 2, MaxInFlight: 1, DispatchGapSeconds: 1},
		},
		{
			"nothing sent",
			[]record.Request{notSent(), notSent()},
			analysis.PassSummary{Failed: 2},
		},
		{
			"latency comes from the record, not the timestamps",
			[]record.Request{withLatency},
			analysis.PassSummary{TotalSeconds: 1, Successful: 1, AverageLatencySeconds: 2.5, MaxInFlight: 1},
		},
		{
			"only failures",
			[]record.Request{failedAt(0, 1, 500), failedAt(2, 3, 503)},
			analysis.PassSummary{TotalSeconds: 3, Failed: 2, StartSpreadSeconds: 2, MaxInFlight: 1, DispatchGapSeconds: 1},
		},
		{
			"nanosecond timestamps",
			[]record.Request{sent(0, 0.000000001), sent(0.000000001, 0.000000003)},
			analysis.PassSummary{TotalSeconds: 0.000000003, Successful: 2, AverageLatencySeconds: 0.0000000015, StartSpreadSeconds: 0.000000001, MaxInFlight: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertSummary(t, tc.want, analysis.Summarize(tc.records))
		})
	}
}

func TestCompare(t *testing.T) {
	t.Run("figures", func(t *testing.T) {
		seq := analysis.PassSummary{TotalSeconds: 20, Successful: 10, AverageLatencySeconds: 2}
		conc := analysis.PassSummary{TotalSeconds: 4, Successful: 8, Failed: 2, AverageLatencySeconds: 3}
		c := analysis.Compare(seq, conc)
		assert.InDelta(t, 20, c.SequentialSeconds, eps)
		assert.InDelta(t, 4, c.ConcurrentSeconds, eps)
		assert.InDelta(t, 16, c.TimeSavedSeconds, eps)
		assert.InDelta(t, 5, c.Speedup, eps)
		assert.InDelta(t, 80, c.TimeReductionPercent, eps)
		// successful concurrent × mean sequential latency / concurrent total
		assert.InDelta(t, 8*2.0/4, c.EffectiveParallelism, eps)
	})
	t.Run("slower concurrent pass", func(t *testing.T) {
		c := analysis.Compare(
			analysis.PassSummary{TotalSeconds: 10, Successful: 5, AverageLatencySeconds: 2},
			analysis.PassSummary{TotalSeconds: 12.5, Successful: 5})
		assert.InDelta(t, -2.5, c.TimeSavedSeconds, eps)
		assert.InDelta(t, 0.8, c.Speedup, eps)
		assert.InDelta(t, -25, c.TimeReductionPercent, eps)
		assert.InDelta(t, 0.8, c.EffectiveParallelism, eps)
	})
	for _, tc := range []struct {
		name      string
		seq, conc analysis.PassSummary
		want      analysis.Comparison
	}{
		{"both empty", analysis.PassSummary{}, analysis.PassSummary{}, analysis.Comparison{}},
		{"no concurrent time",
			analysis.PassSummary{TotalSeconds: 10, Successful: 5, AverageLatencySeconds: 2},
			analysis.PassSummary{Failed: 5},
			analysis.Comparison{SequentialSeconds: 10, TimeSavedSeconds: 10, TimeReductionPercent: 100}},
		{"no sequential time",
			analysis.PassSummary{Failed: 5},
			analysis.PassSummary{TotalSeconds: 4, Successful: 5},
			analysis.Comparison{ConcurrentSeconds: 4, TimeSavedSeconds: -4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := analysis.Compare(tc.seq, tc.conc)
			for _, v := range []float64{c.SequentialSeconds, c.ConcurrentSeconds, c.TimeSavedSeconds, c.Speedup, c.TimeReductionPercent, c.EffectiveParallelism} {
				require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "non-finite figure in %+v", c)
			}
			assert.Equal(t, tc.want, c)
		})
	}
}

// pass is a summary of n requests of which failed failed.
func pass(n, failed int, total float64) *analysis.PassSummary {
	return &analysis.PassSummary{TotalSeconds: total, Successful: n - failed, Failed: failed, AverageLatencySeconds: 1}
}

func cmpWith(speedup float64) *analysis.Comparison {
	return &analysis.Comparison{SequentialSeconds: 10 * speedup, ConcurrentSeconds: 10, Speedup: speedup, EffectiveParallelism: speedup}
}

func TestConclude(t *testing.T) {
	ideal := func(limit int) float64 { return 0.7 * float64(limit) }
	below := func(x float64) float64 { return math.Nextafter(x, 0) }

	for _, tc := range []struct {
		name                  string
		seq, conc             *analysis.PassSummary
		cmp                   *analysis.Comparison
		requests, concurrency int
		want                  string
		wantText              []string
	}{
		{"concurrent", pass(10, 0, 20), pass(10, 0, 2), cmpWith(9.5), 10, 10,
			analysis.VerdictConcurrent, []string{"10", "9.5x"}},
		{"speedup exactly 0.7×min(C,N)", pass(10, 0, 7), pass(10, 0, 1), cmpWith(ideal(10)), 10, 10,
			analysis.VerdictConcurrent, nil},
		{"speedup just below 0.7×min(C,N)", pass(10, 0, 7), pass(10, 0, 1), cmpWith(below(ideal(10))), 10, 10,
			analysis.VerdictPartiallyConcurrent, nil},
		{"C<N: the limit is C", pass(12, 0, 12), pass(12, 0, 4), cmpWith(ideal(4)), 12, 4,
			analysis.VerdictConcurrent, []string{"4"}},
		{"C<N just below", pass(12, 0, 12), pass(12, 0, 4), cmpWith(below(ideal(4))), 12, 4,
			analysis.VerdictPartiallyConcurrent, nil},
		{"C>N: the limit is N", pass(5, 0, 10), pass(5, 0, 2), cmpWith(ideal(5)), 5, 50,
			analysis.VerdictConcurrent, nil},
		{"C>N below N's ideal", pass(5, 0, 10), pass(5, 0, 2), cmpWith(below(ideal(5))), 5, 50,
			analysis.VerdictPartiallyConcurrent, nil},
		{"speedup exactly 1.5", pass(10, 0, 15), pass(10, 0, 10), cmpWith(1.5), 10, 10,
			analysis.VerdictPartiallyConcurrent, []string{"1.5x", "10"}},
		{"speedup just below 1.5", pass(10, 0, 15), pass(10, 0, 10), cmpWith(below(1.5)), 10, 10,
			analysis.VerdictSerialized, nil},
		{"serialized", pass(10, 0, 20), pass(10, 0, 19), cmpWith(1.05), 10, 10,
			analysis.VerdictSerialized, []string{"1.1x"}},
		{"partially concurrent", pass(10, 0, 20), pass(10, 0, 5), cmpWith(4), 10, 10,
			analysis.VerdictPartiallyConcurrent, []string{"4.0x", "10"}},
		{"C=2: 0.7×2 comes before the 1.5 rule", pass(2, 0, 2), pass(2, 0, 1.4), cmpWith(1.45), 2, 2,
			analysis.VerdictConcurrent, nil},
		{"concurrency 1", pass(10, 0, 10), pass(10, 0, 10), cmpWith(1), 10, 1,
			analysis.VerdictInconclusive, []string{"-concurrency"}},
		{"one request", pass(1, 0, 1), pass(1, 0, 1), cmpWith(1), 1, 1,
			analysis.VerdictInconclusive, []string{"-concurrency"}},
		{"only the sequential pass", pass(10, 0, 10), nil, nil, 10, 10,
			analysis.VerdictInconclusive, []string{"one pass", "-passes both"}},
		{"only the concurrent pass", nil, pass(10, 0, 1), nil, 10, 10,
			analysis.VerdictInconclusive, []string{"one pass", "-passes both"}},
		{"no comparison", pass(10, 0, 10), pass(10, 0, 1), nil, 10, 10,
			analysis.VerdictInconclusive, []string{"one pass"}},
		{"more than 20% failed in the sequential pass", pass(10, 3, 10), pass(10, 0, 1), cmpWith(10), 10, 10,
			analysis.VerdictInconclusive, []string{"3 of 10", "sequential pass", "20%"}},
		{"more than 20% failed in the concurrent pass", pass(10, 0, 10), pass(10, 3, 1), cmpWith(10), 10, 10,
			analysis.VerdictInconclusive, []string{"3 of 10", "concurrent pass", "in the JSON"}},
		{"exactly 20% failed in both passes still gives a verdict", pass(10, 2, 10), pass(10, 2, 1), cmpWith(10), 10, 10,
			analysis.VerdictConcurrent, nil},
		{"exactly 20% of 5", pass(5, 1, 10), pass(5, 1, 2), cmpWith(1.2), 5, 5,
			analysis.VerdictSerialized, nil},
		{"failures beat a single pass", pass(10, 10, 0), nil, nil, 10, 10,
			analysis.VerdictInconclusive, []string{"10 of 10", "sequential pass"}},
		{"failures beat concurrency 1", pass(10, 0, 10), pass(10, 5, 10), cmpWith(1), 10, 1,
			analysis.VerdictInconclusive, []string{"5 of 10", "concurrent pass"}},
		{"empty passes are not failures", pass(0, 0, 0), pass(0, 0, 0), cmpWith(0), 0, 0,
			analysis.VerdictInconclusive, []string{"-concurrency"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := analysis.Conclude(tc.seq, tc.conc, tc.cmp, tc.requests, tc.concurrency)
			assert.Equal(t, tc.want, c.Verdict, "%s", c.Text)
			assert.NotEmpty(t, c.Text)
			for _, s := range tc.wantText {
				assert.Contains(t, c.Text, s)
			}
		})
	}
}

// TestConcludeFromMeasurements runs the three functions together, the way
// report.Build does.
func TestConcludeFromMeasurements(t *testing.T) {
	var seqRecs, concRecs []record.Request
	for i := range 10 {
		seqRecs = append(seqRecs, sent(float64(i)*2.1, float64(i)*2.1+2))
		concRecs = append(concRecs, sent(30, 32))
	}
	seq, conc := analysis.Summarize(seqRecs), analysis.Summarize(concRecs)
	assert.Equal(t, 1, seq.MaxInFlight)
	assert.Equal(t, 10, conc.MaxInFlight)
	assert.InDelta(t, 9*0.1, seq.DispatchGapSeconds, 1e-6)
	cmp := analysis.Compare(seq, conc)
	assert.InDelta(t, 20.9/2, cmp.Speedup, 1e-6)
	assert.InDelta(t, 10, cmp.EffectiveParallelism, 1e-6)
	c := analysis.Conclude(&seq, &conc, &cmp, 10, 10)
	assert.Equal(t, analysis.VerdictConcurrent, c.Verdict)
}

// Failed requests are counted by error kind; the counts add up to Failed,
// and a pass without failures has none.
func TestSummarizeErrorKinds(t *testing.T) {
	stalled := failedAt(0, 1, 200)
	stalled.ErrorKind = record.ErrorKindStreamStalled
	timedOut := failedAt(0, 2, 0)
	timedOut.ErrorKind = record.ErrorKindTimeout
	s := analysis.Summarize([]record.Request{
		sent(0, 1), stalled, timedOut, failedAt(0, 1, 503), failedAt(1, 2, 500), failedAt(0, 1, 429), notSent(),
	})
	assert.Equal(t, map[string]int{
		record.ErrorKindStreamStalled: 1,
		record.ErrorKindTimeout:       1,
		record.ErrorKindHTTP5xx:       2,
		record.ErrorKindRateLimited:   1,
		record.ErrorKindNotSent:       1,
	}, s.ErrorKinds)
	total := 0
	for _, n := range s.ErrorKinds {
		total += n
	}
	assert.Equal(t, s.Failed, total)
	assert.Nil(t, analysis.Summarize([]record.Request{sent(0, 1)}).ErrorKinds)
}
