package htmlreport

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/report"
)

// The trend page (`starter trend -html FILE`) plots a series of runs over
// time, one self-contained page like the run report: inline CSS and SVG,
// no script, no external resource. Its elements, for tests and scripts:
//
//	<svg class="chart trend" data-metric="speedup|parallelism|latency|429s" data-points="N">
//	<circle class="point" data-metric="…" data-run="WORKFLOW_ID" data-verdict="…">  one per run with the figure
//	<rect class="bar" data-metric="429s" data-run="…" data-count="k">               the 429s of a run
//	<line class="change" data-figure="…" data-run="…">                              the run a change came with
//	<tr class="trend-run" data-run="…">                                             one per run, in the table

// trendChart is one chart of the trend page.
type trendChart struct {
	Title string
	SVG   template.HTML
}

// trendPage is what the trend page's template shows.
type trendPage struct {
	Title, Subtitle, Changed string
	Charts                   []trendChart
	Rows                     []trendRow
}

type trendRow struct {
	Start, Verdict, VerdictClass, Speedup, Parallelism, P50, P95, RateLimited, ID, Note string
}

// WriteTrendFile writes the trend page of runs (oldest first), titled
// title, through report.WriteFileAtomic.
func WriteTrendFile(path, title string, runs []analysis.TrendRun, s analysis.TrendSummary) error {
	b, err := RenderTrend(title, runs, s)
	if err != nil {
		return err
	}
	return report.WriteFileAtomic(path, "the trend page", b)
}

// RenderTrend is the trend page of runs, oldest first.
func RenderTrend(title string, runs []analysis.TrendRun, s analysis.TrendSummary) ([]byte, error) {
	p := trendPage{Title: title, Changed: s.Text}
	layout := analysis.TrendTimeLayout(runs)
	if len(runs) > 0 {
		p.Subtitle = fmt.Sprintf("%d runs, from %s to %s UTC, oldest first", len(runs), runs[0].Start.UTC().Format(layout), runs[len(runs)-1].Start.UTC().Format(layout))
	}
	x := newTimeAxis(runs)
	changes := map[string][]int{} // figure name to the runs its changes came with
	for _, e := range s.Events {
		changes[e.Figure] = append(changes[e.Figure], e.At)
		if e.Kind != "step" {
			changes[e.Kind] = append(changes[e.Kind], e.At)
		}
	}
	p.Charts = []trendChart{
		{"Speedup (sequential total / concurrent total)", trendLineChart(runs, x, "speedup", []trendSeries{{"speedup", func(r analysis.TrendRun) float64 { return r.Speedup }}}, changes["speedup"], "×")},
		{"Effective parallelism", trendLineChart(runs, x, "parallelism", []trendSeries{{"parallelism", func(r analysis.TrendRun) float64 { return r.Parallelism }}}, changes["effective parallelism"], "")},
		{"Latency of the concurrent pass (s): p50 dashed, p95 solid", trendLineChart(runs, x, "latency", []trendSeries{
			{"p50", func(r analysis.TrendRun) float64 { return r.LatencyP50 }},
			{"p95", func(r analysis.TrendRun) float64 { return r.LatencyP95 }},
		}, append(changes["latency p50"], changes["latency p95"]...), " s")},
		{"HTTP 429 answers", trendBarChart(runs, x, append(changes["429s began"], changes["429s stopped"]...))},
	}
	for _, r := range runs {
		row := trendRow{Start: r.Start.UTC().Format(layout), Verdict: "-", VerdictClass: "v-inconclusive", Speedup: "-", RateLimited: "-", ID: r.WorkflowID, Note: r.Note,
			Parallelism: trendFmt(r.Parallelism, "%.2f"), P50: trendFmt(r.LatencyP50, "%.2f"), P95: trendFmt(r.LatencyP95, "%.2f")}
		if r.HasResult() {
			row.Verdict, row.VerdictClass, row.RateLimited = r.Verdict, verdictClass(r.Verdict), fmt.Sprint(r.RateLimited)
			row.Speedup = trendFmt(r.Speedup, "%.2f×")
		}
		p.Rows = append(p.Rows, row)
	}
	var buf bytes.Buffer
	if err := trendTemplate.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("render the trend page: %w", err)
	}
	return buf.Bytes(), nil
}

// verdictClass is the CSS class of a verdict's colour.
func verdictClass(v string) string {
	switch v {
	case analysis.VerdictConcurrent:
		return "v-concurrent"
	case analysis.VerdictPartiallyConcurrent:
		return "v-partial"
	case analysis.VerdictSerialized:
		return "v-serialized"
	}
	return "v-inconclusive"
}

func trendFmt(v float64, format string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// The charts' geometry, in SVG user units.
const (
	trendW, trendH         = 900.0, 210.0
	trendLeft, trendRight  = 56.0, 16.0
	trendTop, trendBottom  = 12.0, 34.0
	trendPlotW, trendPlotH = trendW - trendLeft - trendRight, trendH - trendTop - trendBottom
)

// timeAxis places the runs' start times across the plot.
type timeAxis struct {
	lo, hi time.Time
}

func newTimeAxis(runs []analysis.TrendRun) timeAxis {
	var a timeAxis
	for i, r := range runs {
		if i == 0 || r.Start.Before(a.lo) {
			a.lo = r.Start
		}
		if i == 0 || r.Start.After(a.hi) {
			a.hi = r.Start
		}
	}
	return a
}

// at is the x of time t: the middle of the plot when every run started at
// one instant.
func (a timeAxis) at(t time.Time) float64 {
	span := a.hi.Sub(a.lo).Seconds()
	if span <= 0 {
		return trendLeft + trendPlotW/2
	}
	return trendLeft + t.Sub(a.lo).Seconds()/span*trendPlotW
}

// timeSteps are the round steps of a time axis.
var timeSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
}

// labels writes the time axis: its line and a label at each multiple (in
// UTC) of the smallest round step that makes at most six, to the second
// when the step is under a minute; one label when every run started at
// one instant.
func (a timeAxis) labels(b *strings.Builder) {
	bottom := trendTop + trendPlotH
	fmt.Fprintf(b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(trendLeft), num(bottom), num(trendLeft+trendPlotW), num(bottom))
	span := a.hi.Sub(a.lo)
	var at []time.Time
	if span <= 0 {
		at = []time.Time{a.lo}
	} else {
		step := timeSteps[len(timeSteps)-1]
		for _, s := range timeSteps {
			if span/s <= 5 {
				step = s
				break
			}
		}
		for t := a.lo.UTC().Truncate(step); !t.After(a.hi); t = t.Add(step) {
			if !t.Before(a.lo) {
				at = append(at, t)
			}
		}
	}
	layout := "01-02 15:04"
	if span < 5*time.Minute {
		layout = "15:04:05"
	}
	for _, t := range at {
		x := a.at(t)
		fmt.Fprintf(b, `<line class="tick" x1="%s" y1="%s" x2="%s" y2="%s"/><text x="%s" y="%s" text-anchor="middle">%s</text>`,
			num(x), num(bottom), num(x), num(bottom+4), num(x), num(bottom+18), t.UTC().Format(layout))
	}
}

// trendSeries is one line of a chart.
type trendSeries struct {
	name string
	of   func(analysis.TrendRun) float64
}

// yAxis writes the horizontal grid and the labels of a value axis from 0
// to top, and returns the y of a value.
// A count's axis (unit "#") has whole ticks.
func yAxis(b *strings.Builder, max float64, unit string) func(float64) float64 {
	top, step := niceCeil(max, 4)
	if unit == "#" {
		unit = ""
		if step < 1 {
			top, step = math.Max(1, math.Ceil(max)), 1
		}
	}
	y := func(v float64) float64 { return trendTop + trendPlotH - v/top*trendPlotH }
	for _, v := range tickValues(0, top, step) {
		fmt.Fprintf(b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/><text x="%s" y="%s" text-anchor="end">%s%s</text>`,
			num(trendLeft), num(y(v)), num(trendLeft+trendPlotW), num(y(v)), num(trendLeft-6), num(y(v)+4), formatTick(v, step), template.HTMLEscapeString(unit))
	}
	return y
}

// changeLines marks the runs that changes came with.
func changeLines(b *strings.Builder, runs []analysis.TrendRun, x timeAxis, figure string, at []int) {
	for _, i := range at {
		xi := x.at(runs[i].Start)
		fmt.Fprintf(b, `<line class="change" data-figure="%s" data-run="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`,
			template.HTMLEscapeString(figure), template.HTMLEscapeString(runs[i].WorkflowID), num(xi), num(trendTop), num(xi), num(trendTop+trendPlotH))
	}
}

// trendLineChart plots each series over time, a point per run with the figure,
// coloured by the run's verdict.
func trendLineChart(runs []analysis.TrendRun, x timeAxis, metric string, ss []trendSeries, changes []int, unit string) template.HTML {
	maxV, points := 0.0, 0
	for _, s := range ss {
		for _, r := range runs {
			if v := s.of(r); !math.IsNaN(v) && !math.IsInf(v, 0) {
				maxV, points = math.Max(maxV, v), points+1
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart trend" data-metric="%s" data-points="%d" viewBox="0 0 %s %s" role="img">`, metric, points, num(trendW), num(trendH))
	y := yAxis(&b, maxV, unit)
	x.labels(&b)
	changeLines(&b, runs, x, metric, changes)
	for _, s := range ss {
		var path []string
		for _, r := range runs {
			if v := s.of(r); !math.IsNaN(v) && !math.IsInf(v, 0) {
				path = append(path, num(x.at(r.Start))+","+num(y(v)))
			}
		}
		if len(path) > 1 {
			fmt.Fprintf(&b, `<polyline class="series s-%s" points="%s"/>`, s.name, strings.Join(path, " "))
		}
		for _, r := range runs {
			v := s.of(r)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			fmt.Fprintf(&b, `<circle class="point %s" data-metric="%s" data-run="%s" data-verdict="%s" cx="%s" cy="%s" r="4"><title>%s %s: %s %s%s</title></circle>`,
				verdictClass(r.Verdict), metric, template.HTMLEscapeString(r.WorkflowID), template.HTMLEscapeString(r.Verdict), num(x.at(r.Start)), num(y(v)),
				template.HTMLEscapeString(r.WorkflowID), r.Start.UTC().Format(time.RFC3339), s.name, trendG(v), template.HTMLEscapeString(unit))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built here, every text escaped
}

// trendBarChart plots the 429s of each run with a result, a bar each.
func trendBarChart(runs []analysis.TrendRun, x timeAxis, changes []int) template.HTML {
	maxV, points := 0.0, 0
	for _, r := range runs {
		if r.HasResult() {
			maxV, points = math.Max(maxV, float64(r.RateLimited)), points+1
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart trend" data-metric="429s" data-points="%d" viewBox="0 0 %s %s" role="img">`, points, num(trendW), num(trendH))
	y := yAxis(&b, maxV, "#")
	x.labels(&b)
	changeLines(&b, runs, x, "429s", changes)
	for _, r := range runs {
		if !r.HasResult() {
			continue
		}
		xi, top := x.at(r.Start), y(float64(r.RateLimited))
		fmt.Fprintf(&b, `<rect class="bar" data-metric="429s" data-run="%s" data-count="%d" x="%s" y="%s" width="6" height="%s"><title>%s: %d answers 429</title></rect>`,
			template.HTMLEscapeString(r.WorkflowID), r.RateLimited, num(xi-3), num(top), num(trendTop+trendPlotH-top), template.HTMLEscapeString(r.WorkflowID), r.RateLimited)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built here, every text escaped
}

func trendG(v float64) string { return fmt.Sprintf("%.3g", v) }

var trendTemplate = template.Must(template.New("trend").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root{--ok:#2f6bd8;--fail:#d9412b;--ink:#14181f;--muted:#5f6775;--line:#e3e6eb;--grid:#eef0f3;--bg:#f5f6f8;--card:#fff}
*{box-sizing:border-box}
html{background:var(--bg)}
body{margin:0;color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif;-webkit-print-color-adjust:exact;print-color-adjust:exact}
main{max-width:1160px;margin:0 auto;padding:24px 24px 32px}
h1{font-size:22px;margin:0}
h2{font-size:16px;margin:0 0 4px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 16px}
.subtitle{margin:2px 0 0;color:var(--muted)}
.changed{font-size:15px;margin:12px 0 0}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
.chart text{font-size:12px;fill:#4b5563;font-family:inherit}
.chart .grid{stroke:var(--grid);stroke-width:1}
.chart .axis,.chart .tick{stroke:#9aa1ab;stroke-width:1}
.chart .series{fill:none;stroke:#9aa1ab;stroke-width:1.5}
.chart .s-p50{stroke-dasharray:5 4}
.chart .change{stroke:#7c3aed;stroke-width:2;stroke-dasharray:6 4}
.chart .bar{fill:var(--fail)}
.chart circle.v-concurrent{fill:#16a34a}
.chart circle.v-partial{fill:#d97706}
.chart circle.v-serialized{fill:#dc2626}
.chart circle.v-inconclusive{fill:#6b7280}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:12.5px;color:var(--muted);margin:0 0 4px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;vertical-align:middle}
.dot.v-concurrent{background:#16a34a}.dot.v-partial{background:#d97706}.dot.v-serialized{background:#dc2626}.dot.v-inconclusive{background:#6b7280}
.mark{display:inline-block;width:0;height:14px;border-left:2px dashed #7c3aed;margin-right:6px;vertical-align:middle}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line)}
td.n,th.n{text-align:right}
.verdict{display:inline-block;padding:1px 8px;border-radius:999px;border:1px solid}
.v-concurrent{background:#e7f6ec;color:#166534;border-color:#a7dcb8}
.v-partial{background:#fdf3de;color:#92400e;border-color:#f1cf8b}
.v-serialized{background:#fde8e6;color:#9f1d12;border-color:#f3b4ab}
.v-inconclusive{background:#eef0f3;color:#374151;border-color:#cfd4db}
.note{color:var(--muted)}
</style>
</head>
<body>
<main>
<section class="card">
<h1>{{.Title}}</h1>
<p class="subtitle">{{.Subtitle}}</p>
<p class="changed"><strong>What changed:</strong> {{.Changed}}.</p>
</section>
<section class="card">
<div class="legend"><span><span class="dot v-concurrent"></span>concurrent</span><span><span class="dot v-partial"></span>partially_concurrent</span><span><span class="dot v-serialized"></span>serialized</span><span><span class="dot v-inconclusive"></span>inconclusive</span><span><span class="mark"></span>a change (see above)</span></div>
{{range .Charts}}<h2>{{.Title}}</h2>
{{.SVG}}
{{end}}</section>
<section class="card">
<h2>Runs, oldest first</h2>
<table>
<thead><tr><th>Started (UTC)</th><th>Verdict</th><th class="n">Speedup</th><th class="n">Parallelism</th><th class="n">p50 (s)</th><th class="n">p95 (s)</th><th class="n">429s</th><th>Workflow ID</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="trend-run" data-run="{{.ID}}"><td>{{.Start}}</td><td><span class="verdict {{.VerdictClass}}">{{.Verdict}}</span></td><td class="n">{{.Speedup}}</td><td class="n">{{.Parallelism}}</td><td class="n">{{.P50}}</td><td class="n">{{.P95}}</td><td class="n">{{.RateLimited}}</td><td>{{.ID}}{{if .Note}} <span class="note">({{.Note}})</span>{{end}}</td></tr>
{{end}}</tbody>
</table>
</section>
</main>
</body>
</html>
`))
