package htmlreport_test

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/report"
)

// trendRuns: four hourly runs whose speedup falls at the third, as 429s
// begin, and a run without a result between them.
func trendRuns() []analysis.TrendRun {
	at := func(h int) time.Time { return time.Date(2026, 12, 3, h, 0, 0, 0, time.UTC) }
	run := func(h int, verdict string, speedup float64, limited int) analysis.TrendRun {
		return analysis.TrendRun{WorkflowID: "nightly-" + strconv.Itoa(h), Start: at(h), Verdict: verdict, Speedup: speedup,
			Parallelism: speedup * 0.9, LatencyP50: 2, LatencyP95: 2.5, RateLimited: limited, Setup: "s"}
	}
	return []analysis.TrendRun{
		run(10, "concurrent", 9.1, 0),
		run(11, "concurrent", 9.0, 0),
		report.NoResultRun("nightly-12", at(12), "terminated"),
		run(13, "partially_concurrent", 2.3, 6),
		run(14, "partially_concurrent", 2.2, 5),
	}
}

func renderTrend(t *testing.T, runs []analysis.TrendRun) string {
	t.Helper()
	b, err := htmlreport.RenderTrend("Schedule nightly", runs, analysis.SummarizeTrend(runs))
	require.NoError(t, err)
	return string(b)
}

// TestTrendPage: a chart per figure, a point per run that has it (in
// time order), a bar of 429s per run with a result, the change marked at
// its run, and a table row per run.
func TestTrendPage(t *testing.T) {
	runs := trendRuns()
	page := renderTrend(t, runs)
	es := elements(page)

	charts := find(es, "svg", "trend")
	var metrics []string
	for _, c := range charts {
		metrics = append(metrics, c.attrs["data-metric"])
	}
	assert.Equal(t, []string{"speedup", "parallelism", "latency", "429s"}, metrics)

	points := find(es, "circle", "point", "data-metric", "speedup")
	require.Len(t, points, 4, "a point per run with a speedup")
	var xs []float64
	for i, want := range []string{"nightly-10", "nightly-11", "nightly-13", "nightly-14"} {
		assert.Equal(t, want, points[i].attrs["data-run"])
		xs = append(xs, points[i].float(t, "cx"))
	}
	for i := 1; i < len(xs); i++ {
		assert.Greater(t, xs[i], xs[i-1], "points in time order")
	}
	// Hourly runs with one hour missing: the gap shows.
	assert.InDelta(t, 2*(xs[1]-xs[0]), xs[2]-xs[1], 0.05)
	ys := []float64{points[0].float(t, "cy"), points[2].float(t, "cy")}
	assert.Greater(t, ys[1], ys[0], "the lower speedup lower on the chart")
	assert.Equal(t, "partially_concurrent", points[2].attrs["data-verdict"])
	assert.True(t, points[2].hasClass("v-partial"))
	assert.Equal(t, "4", charts[0].attrs["data-points"])
	assert.Equal(t, "8", charts[2].attrs["data-points"], "p50 and p95 of four runs")
	assert.Len(t, find(es, "circle", "point", "data-metric", "latency"), 8)

	bars := find(es, "rect", "bar", "data-metric", "429s")
	require.Len(t, bars, 4)
	assert.Equal(t, "6", bars[2].attrs["data-count"])

	assert.Len(t, find(es, "line", "change", "data-figure", "speedup", "data-run", "nightly-13"), 1)
	assert.Len(t, find(es, "line", "change", "data-figure", "429s", "data-run", "nightly-13"), 1)

	// The time axis is labelled on the hour: four hours, a label an hour.
	var labels []string
	for _, m := range regexp.MustCompile(`<text x="[\d.]+" y="[\d.]+" text-anchor="middle">([^<]+)</text>`).FindAllStringSubmatch(page, -1) {
		labels = append(labels, m[1])
	}
	assert.Equal(t, []string{"12-03 10:00", "12-03 11:00", "12-03 12:00", "12-03 13:00", "12-03 14:00"}, labels[:5])

	rows := find(es, "tr", "trend-run")
	require.Len(t, rows, 5, "a row per run, the one without a result too")
	assert.Equal(t, "nightly-12", rows[2].attrs["data-run"])
	assert.Contains(t, page, "speedup fell from 9.1× to 2.2× on 2026-12-03 13:00")
}

// TestTrendPageSelfContained: no script, no external resource, every text
// escaped.
func TestTrendPageSelfContained(t *testing.T) {
	const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	runs := trendRuns()
	runs[0].WorkflowID, runs[1].Verdict, runs[2].Note = evil, evil, evil
	page := renderTrend(t, runs)
	assert.Empty(t, externalRef.FindAllString(page, -1), "no external resource, no script")
	absent(t, page, "<script")
	absent(t, page, "<img")
	for _, e := range elements(page) {
		for name := range e.attrs {
			assert.False(t, strings.HasPrefix(name, "on"), "no event handler: <%s %s>", e.tag, name)
		}
	}
	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
}

// TestTrendPageEdgeCases: one run, or runs without a figure, still make a
// page.
func TestTrendPageEdgeCases(t *testing.T) {
	one := trendRuns()[:1]
	page := renderTrend(t, one)
	assert.Len(t, find(elements(page), "circle", "point", "data-metric", "speedup"), 1)
	none := []analysis.TrendRun{report.NoResultRun("x", time.Unix(0, 0), "timed out")}
	page = renderTrend(t, none)
	assert.Empty(t, find(elements(page), "circle", "point"))
	assert.NotContains(t, page, "NaN")
	nan := trendRuns()
	nan[0].Speedup = math.NaN()
	assert.NotContains(t, renderTrend(t, nan), "NaN")
}

// TestTrendTimeAxis: runs seconds apart are labelled to the second, at
// round steps.
func TestTrendTimeAxis(t *testing.T) {
	start := time.Date(2026, 12, 2, 3, 0, 59, 0, time.UTC)
	var runs []analysis.TrendRun
	for i := range 6 {
		runs = append(runs, analysis.TrendRun{WorkflowID: strconv.Itoa(i), Start: start.Add(time.Duration(2*i) * time.Second), Verdict: "concurrent", Speedup: 3, Parallelism: 3, LatencyP50: 0.1, LatencyP95: 0.1})
	}
	page := renderTrend(t, runs)
	chart := page[strings.Index(page, `data-metric="speedup"`):]
	chart = chart[:strings.Index(chart, "</svg>")]
	var labels []string
	for _, m := range regexp.MustCompile(`text-anchor="middle">([^<]+)</text>`).FindAllStringSubmatch(chart, -1) {
		labels = append(labels, m[1])
	}
	assert.Equal(t, []string{"03:01:00", "03:01:02", "03:01:04", "03:01:06", "03:01:08"}, labels)
}

func TestWriteTrendFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trend.html")
	runs := trendRuns()
	require.NoError(t, htmlreport.WriteTrendFile(path, "Schedule nightly", runs, analysis.SummarizeTrend(runs)))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), "<title>Schedule nightly</title>")
}
