package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// serialized is a run of n requests whose concurrent pass the endpoint
// served one at a time, with a 429 answered (then retried) on request 1.
func serialized(n int) testrun.Result {
	r := result(n)
	for i := range r.Concurrent.Records {
		r.Concurrent.Records[i] = rec(record.PassConcurrent, i, 100, 100+float64(i+1)*2)
	}
	r.Concurrent.Records[1].Attempts = []record.Attempt{{Attempt: 1, HTTPStatus: 429}, {Attempt: 2, HTTPStatus: 200}}
	r.Config.Endpoint = "slow"
	r.Endpoint.Name = "slow"
	return r
}

// comparisonOf builds the document of a comparison of the two results.
func comparisonOf(t *testing.T, a, b testrun.Result) report.ComparisonDocument {
	t.Helper()
	docs := []report.TargetDocument{
		{Document: report.Build("cmp-t1-fast-test-model", "run-1", a)},
		{Document: report.Build("cmp-t2-slow-test-model", "run-2", b)},
	}
	res := testrun.ComparisonResult{StartedAt: start, FinishedAt: start.Add(300e9)}
	return report.BuildComparison("cmp", "run-0", res, docs)
}

// TestComparisonDocument: a concurrent and a serialized target give one row
// each with their verdicts and figures, and every target is a complete
// run document with its workflow ID.
func TestComparisonDocument(t *testing.T) {
	fast := result(4)
	fast.Config.Endpoint, fast.Endpoint.Name = "fast", "fast"
	prices := &testrun.Prices{InputPerMillion: 1, OutputPerMillion: 2, Source: "test"}
	fast.Config.Prices = prices
	d := comparisonOf(t, fast, serialized(4))

	assert.Equal(t, report.ComparisonKind, d.Kind)
	require.Len(t, d.ComparisonTable, 2)
	f, s := d.ComparisonTable[0], d.ComparisonTable[1]
	assert.Equal(t, analysis.VerdictConcurrent, f.Verdict)
	assert.Equal(t, analysis.VerdictSerialized, s.Verdict)
	assert.Equal(t, "fast", f.Endpoint)
	assert.Equal(t, "slow", s.Endpoint)
	assert.Equal(t, "cmp-t2-slow-test-model", s.WorkflowID)
	require.NotNil(t, f.Speedup)
	assert.InDelta(t, 4.0, *f.Speedup, 0.01)
	require.NotNil(t, s.LatencyP50Seconds)
	assert.Equal(t, "concurrent", s.LatencyPass)
	assert.InDelta(t, 5.0, *s.LatencyP50Seconds, 0.01, "the serialized pass's latencies are 2, 4, 6 and 8 s")
	assert.Nil(t, f.TTFTP50Seconds, "nothing was streamed")
	assert.Equal(t, 1, s.Count429, "the 429 of a try that was retried counts")
	assert.Equal(t, 0, f.Count429)
	require.NotNil(t, f.CostUSD)
	assert.Nil(t, s.CostUSD, "no price for the second target")
	assert.Nil(t, d.CostUSD, "the sum is unknown when one target's cost is")

	// The JSON: each target is a run's complete document.
	m := asMap(t, d)
	targets := m["targets"].([]any)
	require.Len(t, targets, 2)
	single := asMap(t, report.Build("x", "y", fast))
	for k := range single {
		assert.Contains(t, targets[0], k, "a target's document lacks the run document's field %q", k)
	}
	assert.Equal(t, "cmp-t1-fast-test-model", targets[0].(map[string]any)["workflow_id"])
	assert.Contains(t, m, "comparison_table")
}

// TestComparisonTableText: the terminal's table is aligned, one row per
// target, with "-" for what a target does not have.
func TestComparisonTableText(t *testing.T) {
	d := comparisonOf(t, result(4), serialized(4))
	d.Targets = append(d.Targets, report.TargetDocument{Document: report.FailedTarget("cmp-t3", "", testrun.Input{Endpoint: "gone", Model: "test-model"}, "the worker does not serve endpoint \"gone\"")})
	d.ComparisonTable = append(d.ComparisonTable, report.RowOf(3, d.Targets[2].Document))
	var buf bytes.Buffer
	report.Text{W: &buf}.ComparisonTable(d)
	lines := strings.Split(buf.String(), "\n")
	require.GreaterOrEqual(t, len(lines), 6)
	header, rows := lines[2], lines[3:6]
	for _, col := range []string{"verdict", "speedup", "p95 (s)", "429s"} {
		at := strings.Index(header, col)
		require.Positive(t, at, "no column %q", col)
		for _, r := range rows {
			assert.NotEqual(t, " ", string([]rune(r)[runeIndex(header, at)]), "column %q is not aligned in %q", col, r)
		}
	}
	assert.Contains(t, rows[1], "serialized")
	assert.Contains(t, rows[2], "inconclusive")
	assert.Contains(t, buf.String(), `Target 3 (gone · test-model) ended early: the worker does not serve endpoint "gone"`)
}

// runeIndex is the rune offset of byte offset i in s.
func runeIndex(s string, i int) int { return len([]rune(s[:i])) }
