package report_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
)

// TestTrendRunOf: a run's line of a trend has the figures of its document:
// the comparison's speedup and effective parallelism, the concurrent
// pass's latency percentiles, and every 429 answer, the retried tries too.
func TestTrendRunOf(t *testing.T) {
	r := result(4)
	r.Concurrent.Records[1].Attempts = []record.Attempt{{HTTPStatus: 429}, {HTTPStatus: 200}}
	r.Sequential.Records[2].OK, r.Sequential.Records[2].HTTPStatus = false, 429
	d := report.Build("nightly-1", "run-1", r)
	got := report.TrendRunOf(d, time.Time{})

	assert.Equal(t, "nightly-1", got.WorkflowID)
	assert.True(t, got.Start.Equal(start), "start %v, want the document's started_at %v", got.Start, start)
	assert.Equal(t, d.Conclusion.Verdict, got.Verdict)
	assert.InDelta(t, d.Comparison.Speedup, got.Speedup, 1e-12)
	assert.InDelta(t, d.Comparison.EffectiveParallelism, got.Parallelism, 1e-12)
	assert.InDelta(t, 2.0, got.LatencyP50, 1e-9)
	assert.InDelta(t, 2.0, got.LatencyP95, 1e-9)
	assert.Equal(t, 2, got.RateLimited)
	assert.Equal(t, "both, 4 requests, concurrency 4, max_tokens 100, stream false", got.Setup)

	// The time Temporal started the run wins over the document's.
	at := start.Add(time.Hour)
	assert.True(t, report.TrendRunOf(d, at).Start.Equal(at))

	// One pass only: no comparison, no speedup.
	r.Sequential = nil
	one := report.TrendRunOf(report.Build("nightly-2", "run-2", r), time.Time{})
	assert.True(t, math.IsNaN(one.Speedup) && math.IsNaN(one.Parallelism), "speedup %v, parallelism %v: want NaN", one.Speedup, one.Parallelism)
}

// TestWriteTrend: the table, one line per run, oldest first, "-" where a
// run lacks a figure or a result, notes after the workflow ID, then the
// closing line.
func TestWriteTrend(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 12, 3, h, 0, 0, 0, time.UTC) }
	runs := []analysis.TrendRun{
		{WorkflowID: "nightly-a", Start: at(12), Verdict: "concurrent", Speedup: 9.1, Parallelism: 8.64, LatencyP50: 2.1, LatencyP95: 2.45, Setup: "s"},
		report.NoResultRun("nightly-b", at(13), "terminated"),
		{WorkflowID: "nightly-c", Start: at(14), Verdict: "inconclusive", Note: "ended early: rate-limited", Speedup: math.NaN(), Parallelism: math.NaN(), LatencyP50: math.NaN(), LatencyP95: math.NaN(), RateLimited: 12, Setup: "s"},
	}
	var b bytes.Buffer
	report.WriteTrend(&b, runs, analysis.TrendSummary{Text: "429s began on 2026-12-03 14:00"})
	want := "" +
		"STARTED (UTC)     VERDICT                SPEEDUP  PARALLELISM  P50 (s)  P95 (s)   429s  WORKFLOW ID\n" +
		"2026-12-03 12:00  concurrent               9.10x         8.64     2.10     2.45      0  nightly-a\n" +
		"2026-12-03 13:00  -                            -            -        -        -      -  nightly-b  (terminated)\n" +
		"2026-12-03 14:00  inconclusive                 -            -        -        -     12  nightly-c  (ended early: rate-limited)\n" +
		"\n" +
		"What changed: 429s began on 2026-12-03 14:00.\n"
	assert.Equal(t, want, b.String())
}
