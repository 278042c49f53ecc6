package htmlreport_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
)

const seqP, concP = record.PassSequential, record.PassConcurrent

// mixed is a run with failures, requests never sent and streamed requests:
// sequential indexes 0-7 sent (3 failed with a 429, 5 streamed), 8 not sent;
// concurrent 0-9 sent (2 failed with a 500, 7 without any response), 10
// and 11 not sent, 1 and 4 streamed.
func mixed() report.Document {
	var seq, conc []record.Request
	for i := range 8 {
		r := rec(seqP, i, float64(i)*2.5, float64(i)*2.5+2.4)
		switch i {
		case 3:
			r = failed(rec(seqP, i, 7.5, 7.6), 429, "Rate limit reached for requests")
		case 5:
			r = withTTFT(r, 1.1)
		}
		seq = append(seq, r)
	}
	seq = append(seq, notSent(seqP, 8))
	for i := range 10 {
		r := rec(concP, i, 50, 52.5+float64(i)/10)
		switch i {
		case 2:
			r = failed(r, 500, "The server had an error while processing your request")
		case 7:
			r = failed(rec(concP, i, 50, 50.01), 0, "read tcp: connection reset by peer")
		case 1, 4:
			r = withTTFT(r, 0.8)
		}
		conc = append(conc, r)
	}
	conc = append(conc, notSent(concP, 10), notSent(concP, 11))
	return build(seq, conc)
}

func TestRequestBarsPerPass(t *testing.T) {
	d := mixed()
	es := elements(renderString(t, d, htmlreport.Options{}))

	require.Len(t, find(es, "svg", "waterfall"), 2)
	for _, p := range []struct {
		pass           string
		sent, failures []int
	}{
		{string(seqP), []int{0, 1, 2, 3, 4, 5, 6, 7}, []int{3}},
		{string(concP), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []int{2, 7}},
	} {
		svg := find(es, "svg", "waterfall", "data-pass", p.pass)
		require.Len(t, svg, 1, p.pass)
		bars := find(es, "rect", "req", "data-pass", p.pass)
		assert.ElementsMatch(t, p.sent, indexes(t, bars), "%s: one bar per request with timestamps, none for those never sent", p.pass)
		assert.Equal(t, len(p.sent), int(svg[0].float(t, "data-requests")), p.pass)
		assert.ElementsMatch(t, p.failures, indexes(t, find(es, "rect", "failed", "data-pass", p.pass)),
			"%s: exactly the failed requests have the failure class", p.pass)
		for _, b := range bars {
			assert.Equal(t, !contains(p.failures, indexes(t, []element{b})[0]), b.attrs["data-ok"] == "true", "data-ok of %v", b.attrs)
			assert.Greater(t, b.float(t, "width"), 0.0)
			assert.Greater(t, b.float(t, "height"), 0.0)
		}
	}
	// The requests never sent are counted next to the chart.
	page := renderString(t, d, htmlreport.Options{})
	assert.Contains(t, page, "1 not sent (no bar)")
	assert.Contains(t, page, "2 not sent (no bar)")
}

// absent fails when page contains s, showing where (not the whole page).
func absent(t *testing.T, page, s string) {
	t.Helper()
	if i := strings.Index(page, s); i >= 0 {
		t.Errorf("the page contains %q: …%s…", s, page[max(0, i-200):min(len(page), i+len(s)+200)])
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// The tooltip of a failed bar gives its status and error.
func TestFailedBarTooltip(t *testing.T) {
	page := renderString(t, mixed(), htmlreport.Options{})
	title := regexp.MustCompile(`<rect class="req failed" data-pass="(\w+)" data-index="(\d+)"[^>]*><title>([^<]*)</title>`)
	got := map[string]string{}
	for _, m := range title.FindAllStringSubmatch(page, -1) {
		got[m[1]+"/"+m[2]] = m[3]
	}
	require.Len(t, got, 3)
	assert.Contains(t, got["sequential/3"], "HTTP 429")
	assert.Contains(t, got["sequential/3"], "Rate limit reached for requests")
	assert.Contains(t, got["concurrent/2"], "HTTP 500")
	assert.Contains(t, got["concurrent/7"], "no response")
	assert.Contains(t, got["concurrent/7"], "connection reset by peer")
	assert.Contains(t, got["concurrent/2"], "(http_5xx)", "the tooltip names the error kind")
}

// The failures of each pass are counted by kind, and each failed row names
// its kind.
func TestFailuresByKind(t *testing.T) {
	d := mixed()
	d.Concurrent.Requests[7].ErrorKind = record.ErrorKindConnectionDropped
	d.Concurrent.PassSummary = analysis.Summarize(d.Concurrent.Requests)
	page := renderString(t, d, htmlreport.Options{})
	assert.Contains(t, page, "By kind: not_sent ×2, connection_dropped ×1, http_5xx ×1")
	assert.Contains(t, page, "By kind: not_sent ×1, rate_limited ×1")
	assert.Regexp(t, `<td class="num">7</td><td>no response</td><td>connection_dropped</td>`, page)
	assert.Regexp(t, `<td class="num">3</td><td>HTTP 429</td><td>rate_limited</td>`, page)
}

func TestBarsFollowTheTimestamps(t *testing.T) {
	d := staircase(10)
	es := elements(renderString(t, d, htmlreport.Options{}))
	seq := find(es, "rect", "req", "data-pass", string(seqP))
	conc := find(es, "rect", "req", "data-pass", string(concP))
	require.Len(t, seq, 10)
	require.Len(t, conc, 10)
	// Sequential: a staircase, each bar starting after the previous one
	// ended, one row lower.
	for i := 1; i < len(seq); i++ {
		prevEnd := seq[i-1].float(t, "x") + seq[i-1].float(t, "width")
		assert.GreaterOrEqual(t, seq[i].float(t, "x"), prevEnd-0.01, "bar %d starts after bar %d ends", i, i-1)
		assert.Greater(t, seq[i].float(t, "y"), seq[i-1].float(t, "y"))
	}
	// Concurrent: a block, every bar starting at the axis origin.
	x0 := conc[0].float(t, "x")
	for _, b := range conc {
		assert.InDelta(t, x0, b.float(t, "x"), 0.05)
	}
	// Same scale: the bar of a request is as wide in both passes (the
	// latencies are the same), and the first bars start at the same x.
	assert.Equal(t, x0, seq[0].float(t, "x"))
	for i := range seq {
		assert.InDelta(t, seq[i].float(t, "width"), conc[i].float(t, "width"), 0.05, "request %d", i)
	}
	svgs := find(es, "svg", "waterfall")
	require.Len(t, svgs, 2)
	for _, s := range svgs {
		assert.Equal(t, "shared", s.attrs["data-scale"])
	}
	assert.Equal(t, svgs[0].attrs["data-seconds-per-px"], svgs[1].attrs["data-seconds-per-px"])
}

// When one pass is hundreds of times shorter, a common scale would make it
// a sliver: each timeline gets its own scale, and the page says so.
func TestOwnScalesWhenTheContrastIsTooLarge(t *testing.T) {
	var seq, conc []record.Request
	for i := range 100 {
		seq = append(seq, rec(seqP, i, float64(i)*2, float64(i)*2+2))
		conc = append(conc, rec(concP, i, 1000, 1002))
	}
	page := renderString(t, build(seq, conc), htmlreport.Options{})
	es := elements(page)
	svgs := find(es, "svg", "waterfall")
	require.Len(t, svgs, 2)
	for _, s := range svgs {
		assert.Equal(t, "own", s.attrs["data-scale"])
	}
	seqPx, concPx := svgs[0].float(t, "data-seconds-per-px"), svgs[1].float(t, "data-seconds-per-px")
	assert.Greater(t, seqPx/concPx, 50.0)
	assert.Contains(t, page, "different scales")
	// The concurrent block still fills a good part of its plot.
	bar := find(es, "rect", "req", "data-pass", string(concP))[0]
	assert.Greater(t, bar.float(t, "width"), 500.0)
}

func TestTTFTMarks(t *testing.T) {
	es := elements(renderString(t, mixed(), htmlreport.Options{}))
	ticks := find(es, "line", "ttft")
	require.Len(t, ticks, 3)
	assert.ElementsMatch(t, []int{5}, indexes(t, find(es, "line", "ttft", "data-pass", string(seqP))))
	assert.ElementsMatch(t, []int{1, 4}, indexes(t, find(es, "line", "ttft", "data-pass", string(concP))))
	// Each mark is on its bar, at send + TTFT.
	for _, tick := range ticks {
		bar := find(es, "rect", "req", "data-pass", tick.attrs["data-pass"], "data-index", tick.attrs["data-index"])
		require.Len(t, bar, 1)
		x, w := bar[0].float(t, "x"), bar[0].float(t, "width")
		tx := tick.float(t, "x1")
		assert.Greater(t, tx, x)
		assert.Less(t, tx, x+w)
		assert.Equal(t, tick.attrs["x1"], tick.attrs["x2"], "a vertical mark")
		assert.LessOrEqual(t, tick.float(t, "y1"), bar[0].float(t, "y"))
		assert.GreaterOrEqual(t, tick.float(t, "y2"), bar[0].float(t, "y")+bar[0].float(t, "height"))
	}
	// Sequential #5: TTFT 1.1 s of a 2.4 s request.
	bar := find(es, "rect", "req", "data-pass", string(seqP), "data-index", "5")[0]
	tick := find(es, "line", "ttft", "data-pass", string(seqP), "data-index", "5")[0]
	assert.InDelta(t, 1.1/2.4, (tick.float(t, "x1")-bar.float(t, "x"))/bar.float(t, "width"), 0.01)

	// Without streamed requests there is no mark and no legend entry.
	page := renderString(t, staircase(5), htmlreport.Options{})
	assert.Empty(t, find(elements(page), "line", "ttft"))
	absent(t, page, "first token (streamed)")
}

func TestHistogramBinsSumToSuccessful(t *testing.T) {
	for name, d := range map[string]report.Document{
		"mixed":     mixed(),
		"staircase": staircase(40),
		"real run":  loadDocument(t, "testdata/simulator_run.json"),
		"one value": build([]record.Request{rec(seqP, 0, 0, 2)}, []record.Request{rec(concP, 0, 5, 7)}),
	} {
		t.Run(name, func(t *testing.T) {
			es := elements(renderString(t, d, htmlreport.Options{}))
			require.Len(t, find(es, "svg", "histogram"), 2)
			for pass, p := range map[string]*report.Pass{string(seqP): d.Sequential, string(concP): d.Concurrent} {
				bins := find(es, "rect", "bin", "data-pass", pass)
				assert.GreaterOrEqual(t, len(bins), 8, "about 20 bins")
				assert.LessOrEqual(t, len(bins), 30, "about 20 bins")
				sum := 0
				prevHi := math.Inf(-1)
				for _, b := range bins {
					sum += int(b.float(t, "data-count"))
					lo, hi := b.float(t, "data-lo"), b.float(t, "data-hi")
					assert.Less(t, lo, hi)
					if !math.IsInf(prevHi, -1) {
						assert.InDelta(t, prevHi, lo, 1e-9, "contiguous bins")
					}
					prevHi = hi
				}
				assert.Equal(t, p.Successful, sum, "%s: the bins hold every successful request", pass)
				svg := find(es, "svg", "histogram", "data-pass", pass)
				require.Len(t, svg, 1)
				assert.Equal(t, float64(p.Successful), svg[0].float(t, "data-count"))
			}
		})
	}
}

// A bin's bar is as tall as its count says, on the same axis for both passes.
func TestHistogramHeights(t *testing.T) {
	es := elements(renderString(t, staircase(14), htmlreport.Options{}))
	var unit float64
	for _, b := range find(es, "rect", "bin") {
		c := b.float(t, "data-count")
		h := b.float(t, "height")
		if c == 0 {
			assert.Zero(t, h)
			continue
		}
		if unit == 0 {
			unit = h / c
		}
		assert.InDelta(t, unit*c, h, 0.05)
	}
	assert.Positive(t, unit)
}

func TestNoHistogramWithoutSuccess(t *testing.T) {
	seq := []record.Request{failed(rec(seqP, 0, 0, 0.1), 401, "Incorrect API key provided")}
	d := build(seq, nil)
	page := renderString(t, d, htmlreport.Options{})
	es := elements(page)
	assert.Empty(t, find(es, "svg", "histogram"))
	assert.Empty(t, find(es, "rect", "bin"))
	assert.Contains(t, page, "No successful request in this pass.")
	assert.Len(t, find(es, "svg", "waterfall"), 1, "the concurrent pass did not run")
	assert.Contains(t, page, "This pass did not run.")
	assert.Len(t, find(es, "table", "failures-table"), 1)
}

func sweep() []htmlreport.SweepLevel {
	return []htmlreport.SweepLevel{
		{Concurrency: 8, RequestsPerSecond: 3.0, OutputTokensPerSecond: 150, P50LatencySeconds: 2.6, P95LatencySeconds: 3.2},
		{Concurrency: 1, RequestsPerSecond: 0.4, OutputTokensPerSecond: 20, P50LatencySeconds: 2.5, P95LatencySeconds: 2.9},
		{Concurrency: 2, RequestsPerSecond: 0.8, OutputTokensPerSecond: 40, P50LatencySeconds: 2.5, P95LatencySeconds: 2.9},
		{Concurrency: 4, RequestsPerSecond: 1.6, OutputTokensPerSecond: 80, P50LatencySeconds: 2.5, P95LatencySeconds: 3.0},
		{Concurrency: 16, RequestsPerSecond: 3.4, OutputTokensPerSecond: 170, P50LatencySeconds: 4.5, P95LatencySeconds: 6.1, ErrorRate: 0.05, Count429: 3},
	}
}

func TestSweepChartsOnlyWithSweep(t *testing.T) {
	page := renderString(t, staircase(4), htmlreport.Options{})
	es := elements(page)
	assert.Empty(t, find(es, "svg", "sweep"))
	assert.Empty(t, find(es, "circle", "point"))
	absent(t, page, "Concurrency sweep")

	page = renderString(t, staircase(4), htmlreport.Options{Sweep: sweep()})
	es = elements(page)
	require.Len(t, find(es, "svg", "sweep"), 2)
	require.Len(t, find(es, "svg", "sweep", "data-metric", "throughput"), 1)
	require.Len(t, find(es, "svg", "sweep", "data-metric", "latency"), 1)
	assert.Contains(t, page, "Concurrency sweep")

	rps := find(es, "circle", "point", "data-metric", "throughput")
	require.Len(t, rps, 5)
	var levels []int
	for _, p := range rps {
		levels = append(levels, int(p.float(t, "data-concurrency")))
	}
	assert.Equal(t, []int{1, 2, 4, 8, 16}, levels, "sorted by concurrency")
	// Throughput grows here, so the points climb (y grows downwards) and
	// move right.
	for i := 1; i < len(rps); i++ {
		assert.Greater(t, rps[i].float(t, "cx"), rps[i-1].float(t, "cx"))
		assert.Less(t, rps[i].float(t, "cy"), rps[i-1].float(t, "cy"))
	}
	// Doubling levels on a log scale are evenly spaced.
	assert.InDelta(t, rps[1].float(t, "cx")-rps[0].float(t, "cx"), rps[4].float(t, "cx")-rps[3].float(t, "cx"), 0.05)
	assert.Len(t, find(es, "circle", "point", "data-metric", "latency", "data-series", "p95"), 5)
	assert.Len(t, find(es, "circle", "point", "data-metric", "latency", "data-series", "p50"), 5)
	// The level with 429s is marked on every series.
	errs := find(es, "circle", "errors")
	assert.Len(t, errs, 3)
	for _, e := range errs {
		assert.Equal(t, "16", e.attrs["data-concurrency"])
	}
	assert.Len(t, find(es, "polyline", "line"), 3)
	assert.Len(t, find(es, "table", "sweep-table"), 1)
}

func TestSweepWithBadNumbers(t *testing.T) {
	levels := []htmlreport.SweepLevel{
		{Concurrency: 1, RequestsPerSecond: math.NaN(), P95LatencySeconds: math.Inf(1)},
		{Concurrency: 3, RequestsPerSecond: 0, P95LatencySeconds: 0},
	}
	page := renderString(t, staircase(3), htmlreport.Options{Sweep: levels})
	absent(t, page, "NaN")
	absent(t, page, "Inf")
	assert.Len(t, find(elements(page), "circle", "point", "data-metric", "throughput"), 2)

	one := []htmlreport.SweepLevel{{Concurrency: 4, RequestsPerSecond: 2, P50LatencySeconds: 1, P95LatencySeconds: 2}}
	page = renderString(t, staircase(3), htmlreport.Options{Sweep: one})
	assert.Len(t, find(elements(page), "circle", "point"), 3)
	absent(t, page, "NaN")
}

var externalRef = regexp.MustCompile(`(?i)(\b(src|href|xlink:href|action|srcset|poster|data)\s*=\s*["']?\s*[a-z]*:?//)|url\s*\(|@import|<link\b|<script\b|<iframe\b|<object\b|<embed\b|<img\b`)

func TestSelfContained(t *testing.T) {
	page := renderString(t, mixed(), htmlreport.Options{Sweep: sweep()})
	assert.Empty(t, externalRef.FindAllString(page, -1), "no external resource, no script")
	// The only URL is the endpoint, shown as text.
	assert.Equal(t, 1, strings.Count(page, "https://"), "the endpoint")
	assert.Zero(t, strings.Count(page, "http://"))
	assert.Contains(t, page, "<dd>https://api.openai.com/v1 ")
	for _, e := range elements(page) {
		for name, v := range e.attrs {
			assert.NotContains(t, strings.ToLower(v), "//", "<%s %s=%q>", e.tag, name, v)
			assert.False(t, strings.HasPrefix(name, "on"), "no event handler: <%s %s>", e.tag, name)
		}
	}
	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Contains(t, page, `<meta charset="utf-8">`)
}

// The test checks itself: the pattern does catch external references.
func TestExternalRefPattern(t *testing.T) {
	for _, s := range []string{
		`<img src="https://x/y.png">`, `<a href="http://x">`, `<a href='//cdn.x/y'>`, `style="background:url(a.png)"`,
		`<link rel="stylesheet" href="a.css">`, `<script>`, `@import "x.css";`,
	} {
		assert.NotEmpty(t, externalRef.FindAllString(s, -1), s)
	}
}

func TestTextIsEscaped(t *testing.T) {
	const evil = `</title></rect></svg><script>alert("x")</script><rect class="req" data-pass="sequential" data-index="99">`
	d := mixed()
	for i := range d.Sequential.Requests {
		d.Sequential.Requests[i].Prompt = evil
	}
	d.Sequential.Requests[3].Error = `"><img src=x onerror=alert(1)> & ` + evil
	d.Concurrent.Requests[2].Error = evil
	d.Config.Model = `<b>model</b>`
	d.Config.EndpointLabel = `</style><script>alert(2)</script>`
	d.Conclusion.Text = evil
	d.Conclusion.Verdict = `"><script>alert(3)</script>`
	d.Error = evil
	d.WorkflowID = evil

	page := renderString(t, d, htmlreport.Options{})
	absent(t, page, "<script")
	absent(t, page, "<img")
	absent(t, page, "<b>model")
	assert.True(t, strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"), "the text shows, escaped")
	assert.True(t, strings.Contains(page, "&lt;b&gt;model&lt;/b&gt;"), "the text shows, escaped")
	es := elements(page)
	assert.Empty(t, find(es, "script", ""))
	assert.Empty(t, find(es, "img", ""))
	for _, e := range es {
		for name := range e.attrs {
			assert.False(t, strings.HasPrefix(name, "on"), "no event handler: <%s %s>", e.tag, name)
		}
	}
	assert.Len(t, find(es, "rect", "req", "data-pass", string(seqP)), 8, "text cannot add bars")
	assert.Empty(t, find(es, "rect", "req", "data-index", "99"))
	assert.Len(t, find(es, "svg", "chart"), 4)
	// The structure around the text is intact: every <title> closes before
	// its element does.
	assert.Equal(t, strings.Count(page, "<title>"), strings.Count(page, "</title>"))
	assert.Equal(t, strings.Count(page, "<svg"), strings.Count(page, "</svg>"))
}

// 1000 requests a pass still render: one thin bar each, in a bounded height.
func TestThousandRequests(t *testing.T) {
	var seq, conc []record.Request
	for i := range 1000 {
		seq = append(seq, rec(seqP, i, float64(i)*0.01, float64(i)*0.01+0.01))
		conc = append(conc, rec(concP, i, 100, 100.01+float64(i%10)/1000))
	}
	page := renderString(t, build(seq, conc), htmlreport.Options{})
	es := elements(page)
	for _, pass := range []string{string(seqP), string(concP)} {
		bars := find(es, "rect", "req", "data-pass", pass)
		require.Len(t, bars, 1000)
		svg := find(es, "svg", "waterfall", "data-pass", pass)[0]
		assert.LessOrEqual(t, svg.float(t, "height"), 520.0)
		prevY := -1.0
		for _, b := range bars {
			h, y := b.float(t, "height"), b.float(t, "y")
			assert.Greater(t, h, 0.0)
			assert.LessOrEqual(t, h, 0.5)
			assert.GreaterOrEqual(t, y, prevY)
			prevY = y
		}
	}
	assert.Empty(t, find(es, "text", "row-label"), "rows too thin to label")
	assert.Less(t, len(page), 2_000_000)
}

func TestRealRun(t *testing.T) {
	d := loadDocument(t, "testdata/simulator_run.json")
	page := renderString(t, d, htmlreport.Options{})
	es := elements(page)
	for _, pass := range []string{string(seqP), string(concP)} {
		assert.Len(t, find(es, "rect", "req", "data-pass", pass), 10)
		assert.Len(t, find(es, "text", "row-label"), 20)
	}
	assert.Empty(t, find(es, "rect", "failed"))
	assert.Len(t, find(es, "svg", "waterfall", "data-scale", "shared"), 2)
	assert.Len(t, find(es, "span", "v-concurrent", "data-verdict", "concurrent"), 1)
	assert.Contains(t, page, "8.6×")
	assert.Contains(t, page, "25.55 s")
	assert.Contains(t, page, "2.96 s")
	assert.Contains(t, page, "gpt-4.1-nano")
	assert.Contains(t, page, d.Conclusion.Text)
	d.Config.EndpointName = "local-vllm"
	assert.Contains(t, renderString(t, d, htmlreport.Options{}), "endpoint local-vllm, "+d.Config.EndpointLabel, "the endpoint's allow-listed name and label")
	// Each timeline marks where the other pass ended.
	assert.Len(t, find(es, "line", "ref"), 2)
	assert.Contains(t, page, "concurrent pass done (2.96 s)")
	assert.Contains(t, page, "sequential pass done (25.55 s)")
	// No failure, no failures table.
	assert.Empty(t, find(es, "table", "failures-table"))
}

func TestEmptyDocument(t *testing.T) {
	page := renderString(t, report.Document{}, htmlreport.Options{})
	es := elements(page)
	assert.Empty(t, find(es, "svg", "chart"))
	assert.Equal(t, 4, strings.Count(page, "This pass did not run."), "timeline and histogram of each pass")
	assert.Contains(t, page, "No verdict")
	assert.Contains(t, page, "—")
}

func TestDeterministic(t *testing.T) {
	a := renderString(t, mixed(), htmlreport.Options{Sweep: sweep()})
	b := renderString(t, mixed(), htmlreport.Options{Sweep: sweep()})
	assert.Equal(t, a, b)
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	d := mixed()
	require.NoError(t, htmlreport.WriteFile(path, d, htmlreport.Options{}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, renderString(t, d, htmlreport.Options{}), string(got))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Overwrites, and leaves no temporary file behind.
	require.NoError(t, htmlreport.WriteFile(path, staircase(2), htmlreport.Options{}))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "report.html", entries[0].Name())

	// A folder that does not exist is an error, and writes nothing.
	err = htmlreport.WriteFile(filepath.Join(dir, "missing", "r.html"), d, htmlreport.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderReportsWriteErrors(t *testing.T) {
	err := htmlreport.Render(failingWriter{}, mixed(), htmlreport.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
	var b bytes.Buffer
	require.NoError(t, htmlreport.Render(&b, mixed(), htmlreport.Options{}))
	assert.Positive(t, b.Len())
}
