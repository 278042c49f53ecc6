package analysis_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

var nan = math.NaN()

// hourly is the start of the i-th run of an hourly schedule.
func hourly(i int) time.Time { return time.Date(2026, 12, 3, 10+i, 0, 0, 0, time.UTC) }

// trendRun is a run of a fixture, started at hourly(i).
func trendRun(i int, verdict string, speedup, parallelism, p50, p95 float64, limited int) analysis.TrendRun {
	return analysis.TrendRun{WorkflowID: "nightly-" + hourly(i).Format(time.RFC3339), Start: hourly(i), Verdict: verdict,
		Speedup: speedup, Parallelism: parallelism, LatencyP50: p50, LatencyP95: p95, RateLimited: limited, Setup: "both, 10 requests"}
}

func TestFindStep(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		want   *analysis.TrendStep
	}{
		{"steady", []float64{9.1, 8.9, 9.3, 9.0, 8.8, 9.2}, nil},
		{"a fall that lasts", []float64{9.1, 9.0, 9.2, 2.3, 2.2, 2.4}, &analysis.TrendStep{At: 3, Before: 9.1, After: 2.3, AfterRuns: 3}},
		{"a rise", []float64{2.0, 2.1, 1.9, 2.0, 4.1, 3.9}, &analysis.TrendStep{At: 4, Before: 2.0, After: 4.0, AfterRuns: 2}},
		{"the latest run alone", []float64{9.1, 9.0, 9.2, 8.9, 2.3}, &analysis.TrendStep{At: 4, Before: 9.05, After: 2.3, AfterRuns: 1}},
		// One run out of line in the middle: the medians on either side
		// of any split stay where they were.
		{"one outlier in the middle", []float64{9, 9, 2, 9, 9}, nil},
		// Up and down run after run: the spread within the parts is as
		// large as the change.
		{"flapping", []float64{9, 3, 9, 3, 9, 3, 9}, nil},
		// 10% is noise, whatever its regularity.
		{"a small change", []float64{9.0, 9.0, 9.0, 8.1, 8.1, 8.1}, nil},
		// The values missing (NaN) are skipped; At indexes the input.
		{"gaps", []float64{9.1, nan, 9.0, 9.2, nan, 2.3, 2.2}, &analysis.TrendStep{At: 5, Before: 9.1, After: 2.25, AfterRuns: 2}},
		{"two values say nothing of the noise", []float64{9, 2}, nil},
		{"none", nil, nil},
		{"constant", []float64{3, 3, 3, 3}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := analysis.FindStep(tc.values)
			if tc.want == nil {
				assert.False(t, ok, "step found: %+v", got)
				return
			}
			require.True(t, ok, "no step found (best split %+v)", got)
			assert.Equal(t, tc.want.At, got.At)
			assert.InDelta(t, tc.want.Before, got.Before, 1e-9)
			assert.InDelta(t, tc.want.After, got.After, 1e-9)
			assert.Equal(t, tc.want.AfterRuns, got.AfterRuns)
		})
	}
}

func TestSummarizeTrend(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs []analysis.TrendRun
		want string
	}{
		{"the issue's example: the speedup falls as 429s begin", []analysis.TrendRun{
			trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0),
			trendRun(1, "concurrent", 9.0, 8.7, 2.1, 2.5, 0),
			trendRun(2, "concurrent", 9.2, 8.5, 2.2, 2.4, 0),
			trendRun(3, "concurrent", 9.3, 8.8, 2.1, 2.4, 0),
			trendRun(4, "partially_concurrent", 2.3, 2.2, 2.1, 2.5, 6),
			trendRun(5, "partially_concurrent", 2.2, 2.1, 2.2, 2.4, 7),
			trendRun(6, "partially_concurrent", 2.4, 2.3, 2.1, 2.5, 5),
		}, "speedup fell from 9.1× to 2.3× on 2026-12-03 14:00; effective parallelism fell from 8.6 to 2.2 at the same run; " +
			"the verdict went from concurrent to partially_concurrent at the same run; 429s began at the same run"},
		{"steady", []analysis.TrendRun{
			trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0),
			trendRun(1, "concurrent", 8.8, 8.7, 2.1, 2.5, 0),
			trendRun(2, "concurrent", 9.3, 8.5, 2.2, 2.4, 0),
		}, "no lasting change over 3 runs (speedup 8.8×–9.3×, verdict concurrent throughout, no 429s)"},
		{"latency rises on its own", []analysis.TrendRun{
			trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0),
			trendRun(1, "concurrent", 9.0, 8.7, 2.0, 2.5, 0),
			trendRun(2, "concurrent", 9.2, 8.5, 2.1, 2.4, 0),
			trendRun(3, "concurrent", 9.0, 8.8, 3.4, 4.1, 0),
			trendRun(4, "concurrent", 9.1, 8.6, 3.5, 4.0, 0),
		}, "latency p50 rose from 2.10 s to 3.45 s on 2026-12-03 13:00; latency p95 rose from 2.40 s to 4.05 s at the same run"},
		{"the latest run alone", []analysis.TrendRun{
			trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0),
			trendRun(1, "concurrent", 9.0, 8.7, 2.0, 2.5, 0),
			trendRun(2, "concurrent", 9.2, 8.5, 2.1, 2.4, 0),
			trendRun(3, "concurrent", 4.0, 8.8, 2.1, 2.4, 0),
		}, "speedup fell from 9.1× to 4.0× on 2026-12-03 13:00 (the latest run alone, so far)"},
		{"429s stop, at another run than the verdict's change", []analysis.TrendRun{
			trendRun(0, "serialized", 1.0, 1.0, 2.1, 2.4, 3),
			trendRun(1, "serialized", 1.0, 1.0, 2.1, 2.4, 2),
			trendRun(2, "serialized", 1.1, 1.0, 2.1, 2.4, 0),
			trendRun(3, "serialized", 1.0, 1.0, 2.1, 2.4, 0),
		}, "429s stopped on 2026-12-03 12:00"},
		{"runs without a result are left out", []analysis.TrendRun{
			trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0),
			{WorkflowID: "x", Start: hourly(1), Note: "terminated", Speedup: nan, Parallelism: nan, LatencyP50: nan, LatencyP95: nan},
			trendRun(2, "concurrent", 9.0, 8.7, 2.0, 2.5, 0),
			trendRun(3, "concurrent", 9.2, 8.5, 2.1, 2.4, 0),
			trendRun(4, "serialized", 1.0, 1.0, 2.1, 2.4, 0),
			trendRun(5, "serialized", 1.1, 1.1, 2.1, 2.4, 0),
		}, "speedup fell from 9.1× to 1.1× on 2026-12-03 14:00; effective parallelism fell from 8.6 to 1.1 at the same run; " +
			"the verdict went from concurrent to serialized at the same run"},
		{"two runs", []analysis.TrendRun{
			trendRun(0, "concurrent", 6.4, 3.4, 0.1, 0.1, 0),
			trendRun(1, "concurrent", 3.5, 3.0, 0.1, 0.1, 0),
		}, "too few runs for a lasting change (2; it takes 3) (speedup 3.5×–6.4×, verdict concurrent throughout, no 429s)"},
		{"one run", []analysis.TrendRun{trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0)}, "one run with a result: nothing to compare it with yet"},
		{"none", nil, "no run with a result: nothing to compare"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, analysis.SummarizeTrend(tc.runs).Text)
		})
	}
}

// TestSummarizeTrendEvents: the events say at which run each change came.
func TestSummarizeTrendEvents(t *testing.T) {
	runs := []analysis.TrendRun{
		trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0),
		trendRun(1, "concurrent", 9.0, 8.7, 2.1, 2.5, 0),
		trendRun(2, "concurrent", 9.2, 8.5, 2.2, 2.4, 4),
		trendRun(3, "serialized", 1.1, 1.0, 2.1, 2.4, 5),
		trendRun(4, "serialized", 1.0, 1.0, 2.1, 2.5, 6),
	}
	s := analysis.SummarizeTrend(runs)
	assert.Equal(t, 5, s.Runs)
	var kinds []string
	ats := map[string]int{}
	for _, e := range s.Events {
		kinds = append(kinds, e.Kind+" "+e.Figure)
		ats[e.Kind+" "+e.Figure] = e.At
	}
	assert.Equal(t, []string{"step speedup", "step effective parallelism", "verdict ", "429s began "}, kinds)
	assert.Equal(t, map[string]int{"step speedup": 3, "step effective parallelism": 3, "verdict ": 3, "429s began ": 2}, ats)
	assert.Equal(t, "speedup fell from 9.1× to 1.1× on 2026-12-03 13:00; effective parallelism fell from 8.6 to 1.0 at the same run; "+
		"the verdict went from concurrent to serialized at the same run; 429s began on 2026-12-03 12:00", s.Text)
}

// TestTrendSetups: runs of different setups are said to compare loosely.
func TestTrendSetups(t *testing.T) {
	a, b, c := trendRun(0, "concurrent", 9.1, 8.6, 2.1, 2.4, 0), trendRun(1, "concurrent", 9.0, 8.7, 2.1, 2.5, 0), trendRun(2, "concurrent", 9.2, 8.5, 2.2, 2.4, 0)
	c.Setup = "both, 50 requests"
	assert.Contains(t, analysis.SummarizeTrend([]analysis.TrendRun{a, b, c}).Text, "(the runs measured 2 different setups: their figures compare loosely)")
}

// TestTrendTimeLayout: minutes, or seconds when two runs share a minute
// (schedules of a few seconds, in tests).
func TestTrendTimeLayout(t *testing.T) {
	runs := []analysis.TrendRun{{Start: hourly(0)}, {Start: hourly(1)}}
	assert.Equal(t, "2006-01-02 15:04", analysis.TrendTimeLayout(runs))
	runs[1].Start = hourly(0).Add(2 * time.Second)
	assert.Equal(t, "2006-01-02 15:04:05", analysis.TrendTimeLayout(runs))
}

func TestRateLimitedAnswers(t *testing.T) {
	recs := []record.Request{
		{HTTPStatus: 200},
		{HTTPStatus: 429},
		// Sent three times: two 429s, then a success.
		{HTTPStatus: 200, Attempts: []record.Attempt{{HTTPStatus: 429}, {HTTPStatus: 429}, {HTTPStatus: 200}}},
		{HTTPStatus: 503},
	}
	assert.Equal(t, 3, analysis.RateLimitedAnswers(recs))
}
