package report_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
)

// A rerun of failed requests replaces exactly those records; the counts come
// from the merged requests, the timings and verdict stay the original's, and
// the original failures are kept in rerun.replaced.
func TestMergeRerunOfFailedRequests(t *testing.T) {
	r := result(4)
	for _, i := range []int{1, 3} {
		c := &r.Concurrent.Records[i]
		c.OK, c.HTTPStatus, c.Error, c.Response = false, 429, "HTTP 429: slow down", ""
	}
	base := report.Build("orig", "orig-run", r)
	require.Equal(t, 2, base.Concurrent.Failed)

	again := result(4)
	again.Config.Only = map[record.Pass][]int{record.PassConcurrent: {1, 3}}
	again.Config.RerunOf = "orig"
	again.Sequential = nil
	again.Concurrent.Records = []record.Request{rec(record.PassConcurrent, 1, 500, 501), rec(record.PassConcurrent, 3, 500, 501.5)}
	rerun := report.Build("again", "again-run", again)

	m := report.Merge(base, rerun)
	assert.Equal(t, "again", m.WorkflowID)
	assert.Equal(t, "again-run", m.RunID)
	require.NotNil(t, m.Rerun)
	assert.Equal(t, "orig", m.Rerun.Of)
	assert.Equal(t, "orig-run", m.Rerun.OfRunID)
	assert.Equal(t, map[record.Pass][]int{record.PassConcurrent: {1, 3}}, m.Rerun.Resent)
	require.Len(t, m.Rerun.Replaced, 2)
	assert.Equal(t, 429, m.Rerun.Replaced[0].HTTPStatus)

	assert.Equal(t, base.Sequential, m.Sequential, "the sequential pass had no failure and is untouched")
	c := m.Concurrent
	require.Len(t, c.Requests, 4)
	assert.Equal(t, 4, c.Successful)
	assert.Equal(t, 0, c.Failed)
	assert.Equal(t, map[string]int{"200": 4}, c.StatusCounts)
	assert.InDelta(t, 1.5, c.Requests[3].LatencySeconds, 1e-9, "request 3 is the rerun's")
	assert.InDelta(t, (2+1+2+1.5)/4, c.AverageLatencySeconds, 1e-9, "latency over the merged requests")
	assert.Equal(t, base.Concurrent.TotalSeconds, c.TotalSeconds, "timings stay the original run's")
	assert.Equal(t, base.Concurrent.MaxInFlight, c.MaxInFlight)
	assert.Equal(t, base.Comparison, m.Comparison)
	assert.Equal(t, base.Conclusion, m.Conclusion)
	assert.Equal(t, 2, base.Concurrent.Failed, "the base document is not changed")
	assert.Len(t, m.Passes(), 2)
}
