package htmlreport_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// comparedDocs are a fast (concurrent) and a slow (serialized) target.
func comparedDocs() report.ComparisonDocument {
	var fastSeq, fastConc, slowSeq, slowConc []record.Request
	for i := range 4 {
		fastSeq = append(fastSeq, rec(record.PassSequential, i, float64(i), float64(i+1)))
		fastConc = append(fastConc, rec(record.PassConcurrent, i, 10, 11))
		slowSeq = append(slowSeq, rec(record.PassSequential, i, float64(3*i), float64(3*i+3)))
		slowConc = append(slowConc, rec(record.PassConcurrent, i, 20, 20+float64(3*(i+1))))
	}
	fast, slow := build(fastSeq, fastConc), build(slowSeq, slowConc)
	fast.WorkflowID, slow.WorkflowID = "cmp-t1-fast", "cmp-t2-slow"
	fast.Config.EndpointName, slow.Config.EndpointName = "fast", "slow"
	targets := []report.TargetDocument{{Document: fast}, {Document: slow}}
	return report.BuildComparison("cmp", "run", testrun.ComparisonResult{StartedAt: start}, targets)
}

// TestComparisonPage: the page has the table, one card per target with its
// verdict, side by side, and every timeline of every target on one time
// scale.
func TestComparisonPage(t *testing.T) {
	d := comparedDocs()
	var buf bytes.Buffer
	require.NoError(t, htmlreport.RenderComparison(&buf, d))
	page := buf.String()

	cards := regexp.MustCompile(`<section class="card target" data-target="(\d)" data-verdict="([a-z_]+)">`).FindAllStringSubmatch(page, -1)
	require.Len(t, cards, 2)
	assert.Equal(t, []string{"concurrent", "serialized"}, []string{cards[0][2], cards[1][2]})
	assert.Len(t, regexp.MustCompile(`<tr class="target-row" data-target`).FindAllString(page, -1), 2)
	assert.Contains(t, page, `<div class="side">`)

	charts := regexp.MustCompile(`<svg class="chart waterfall" data-pass="(\w+)" data-scale="(\w+)" data-seconds-per-px="([^"]+)"`).FindAllStringSubmatch(page, -1)
	require.Len(t, charts, 4, "two passes of two targets")
	for _, c := range charts {
		assert.Equal(t, "shared", c[2])
		assert.Equal(t, charts[0][3], c[3], "every timeline has the same seconds per pixel")
	}
	// The longest pass (the slow target's sequential one, 12 s) fits.
	assert.Contains(t, page, "0 to 12.00 s, the longest pass")
	assert.Equal(t, 2, strings.Count(page, `class="pass target-timeline" data-target="2"`))
	assert.Contains(t, page, ".chart rect.req{", "the run page's style sheet is in")
}

// TestComparisonPageFailedTarget: a target that returned no result shows
// its error, and no chart.
func TestComparisonPageFailedTarget(t *testing.T) {
	d := comparedDocs()
	gone := report.FailedTarget("cmp-t3-gone", "", testrun.Input{Endpoint: "gone", Model: "m"}, "the worker does not serve endpoint <gone>")
	d.Targets = append(d.Targets, report.TargetDocument{Document: gone})
	d.ComparisonTable = append(d.ComparisonTable, report.RowOf(3, gone))
	var buf bytes.Buffer
	require.NoError(t, htmlreport.RenderComparison(&buf, d))
	page := buf.String()
	assert.Contains(t, page, "The run ended early: the worker does not serve endpoint &lt;gone&gt;")
	assert.Contains(t, page, `<tr class="target-row errors" data-target="3"`)
	assert.Equal(t, 4, strings.Count(page, `<svg class="chart waterfall"`))
}
