package report_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// TestTrendDocument: the JSON form has every run, null for a figure it
// lacks (and for the 429s of a run without a result), and each change
// with the run it came with.
func TestTrendDocument(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 12, 3, h, 0, 0, 0, time.UTC) }
	runs := []analysis.TrendRun{
		{WorkflowID: "a", Start: at(10), Verdict: "concurrent", Speedup: 9.1, Parallelism: 8.6, LatencyP50: 2.1, LatencyP95: 2.4, Setup: "s"},
		{WorkflowID: "b", Start: at(11), Verdict: "concurrent", Speedup: 9.0, Parallelism: 8.7, LatencyP50: 2.1, LatencyP95: 2.5, Setup: "s"},
		report.NoResultRun("c", at(12), "terminated"),
		{WorkflowID: "d", Start: at(13), Verdict: "serialized", Speedup: 1.1, Parallelism: 1.0, LatencyP50: 2.1, LatencyP95: 2.4, RateLimited: 4, Setup: "s"},
	}
	var b bytes.Buffer
	require.NoError(t, report.EncodeTrend(&b, report.TrendDocumentOf("Schedule x", runs, analysis.SummarizeTrend(runs))))
	var got struct {
		Title string `json:"title"`
		Runs  []struct {
			WorkflowID string   `json:"workflow_id"`
			StartedAt  string   `json:"started_at"`
			Verdict    string   `json:"verdict"`
			Speedup    *float64 `json:"speedup"`
			Count429   *int     `json:"count_429"`
			Note       string   `json:"note"`
		} `json:"runs"`
		Changed string `json:"changed"`
		Events  []struct {
			Kind       string   `json:"kind"`
			WorkflowID string   `json:"workflow_id"`
			Figure     string   `json:"figure"`
			Before     *float64 `json:"before"`
			After      *float64 `json:"after"`
			From, To   string
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &got), b.String())
	require.Len(t, got.Runs, 4)
	assert.Equal(t, "2026-12-03T10:00:00Z", got.Runs[0].StartedAt)
	assert.Equal(t, 9.1, *got.Runs[0].Speedup)
	assert.Equal(t, 0, *got.Runs[0].Count429)
	assert.Nil(t, got.Runs[2].Speedup)
	assert.Nil(t, got.Runs[2].Count429)
	assert.Equal(t, "", got.Runs[2].Verdict)
	assert.Equal(t, "terminated", got.Runs[2].Note)
	assert.Contains(t, b.String(), `"speedup": null`)
	assert.Equal(t, analysis.SummarizeTrend(runs).Text, got.Changed)
	require.NotEmpty(t, got.Events)
	assert.Equal(t, "step", got.Events[0].Kind)
	assert.Equal(t, "speedup", got.Events[0].Figure)
	assert.Equal(t, "d", got.Events[0].WorkflowID)
	assert.InDelta(t, 9.05, *got.Events[0].Before, 1e-9)
	assert.InDelta(t, 1.1, *got.Events[0].After, 1e-9)
	kinds := map[string]string{}
	for _, e := range got.Events {
		kinds[e.Kind] = e.WorkflowID
	}
	assert.Equal(t, map[string]string{"step": "d", "verdict": "d", "429s began": "d"}, kinds)
}
