package htmlreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Chart elements as the template draws them; coordinates are preformatted.
type line struct{ X1, Y1, X2, Y2 string }

type text struct {
	X, Y, Text string
	// Anchor is the SVG text-anchor: start, middle or end.
	Anchor string
	// Rotate turns the text by -90° around its anchor point.
	Rotate bool
}

// frame is what every chart has: a size, grid lines, axes and labels.
type frame struct {
	W, H   int
	Grid   []line
	Axes   []line
	Ticks  []line
	Labels []text // tick labels
	Titles []text // axis titles
}

// box is a chart's plot area inside its frame.
type box struct{ x, y, w, h float64 }

func (b box) bottom() float64 { return b.y + b.h }
func (b box) right() float64  { return b.x + b.w }

// xAxis adds a horizontal axis at the bottom of b with vertical grid lines
// and labelled ticks at the given positions.
func (f *frame) xAxis(b box, xs []float64, labels []string, title string) {
	f.Axes = append(f.Axes, line{num(b.x), num(b.bottom()), num(b.right()), num(b.bottom())})
	for i, x := range xs {
		f.Grid = append(f.Grid, line{num(x), num(b.y), num(x), num(b.bottom())})
		f.Ticks = append(f.Ticks, line{num(x), num(b.bottom()), num(x), num(b.bottom() + 5)})
		f.Labels = append(f.Labels, text{X: num(x), Y: num(b.bottom() + 19), Text: labels[i], Anchor: "middle"})
	}
	if title != "" {
		f.Titles = append(f.Titles, text{X: num(b.x + b.w/2), Y: num(b.bottom() + 38), Text: title, Anchor: "middle"})
	}
}

// yAxis adds a vertical axis at the left of b with horizontal grid lines
// and labelled ticks at the given positions.
func (f *frame) yAxis(b box, ys []float64, labels []string, title string) {
	f.Axes = append(f.Axes, line{num(b.x), num(b.y), num(b.x), num(b.bottom())})
	for i, y := range ys {
		f.Grid = append(f.Grid, line{num(b.x), num(y), num(b.right()), num(y)})
		f.Ticks = append(f.Ticks, line{num(b.x - 5), num(y), num(b.x), num(y)})
		f.Labels = append(f.Labels, text{X: num(b.x - 8), Y: num(y + 4), Text: labels[i], Anchor: "end"})
	}
	if title != "" {
		f.Titles = append(f.Titles, text{X: "14", Y: num(b.y + b.h/2), Text: title, Anchor: "middle", Rotate: true})
	}
}

// Waterfall geometry.
const (
	wfWidth      = 1100
	wfLeft       = 64
	wfRight      = 24
	wfTop        = 26
	wfBottom     = 48
	wfMaxRow     = 17.0  // row height with few requests
	wfMaxPlot    = 440.0 // plot height cap: more requests make thinner rows
	wfMinBarW    = 1.5   // a request shorter than this still shows
	wfRowLabelAt = 11.0  // rows at least this tall are labelled with the index
)

type waterfall struct {
	frame
	Pass         string
	Scale        string
	SecondsPerPx string
	Bars         []bar
	TTFT         []ttftMark
	RowLabels    []text
	Ref          *refMark
}

type bar struct {
	X, Y, W, H string
	Index      int
	OK         bool
	Title      string
	// Worker is the identity of the worker that sent the request, and
	// Class its colour, when several workers sent the passes (workerKeys).
	Worker, Class string
}

type ttftMark struct {
	line
	Index int
	Title string
}

type refMark struct {
	line
	Label text
}

// reference is an instant marked on a timeline with a dashed line.
type reference struct {
	at    float64
	label string
}

// rowHeights are the height of a row of a chart of n bars, one a row, and
// of its bar: rows are thinner the more there are, down to no gap.
func rowHeights(n int) (row, barH float64) {
	row = math.Min(wfMaxRow, wfMaxPlot/float64(n))
	barH = row
	if row >= 4 {
		barH = row * 0.7
	}
	return row, barH
}

// buildWaterfall draws one bar per timed request on an axis from 0 to
// domain seconds. ref, when set and within the axis, is marked (the end of
// the other pass).
func buildWaterfall(pass string, ts []timed, domain float64, shared bool, ref *reference) *waterfall {
	top, step := niceCeil(domain, 10)
	n := len(ts)
	row, barH := rowHeights(n)
	plotW := float64(wfWidth - wfLeft - wfRight)
	b := box{wfLeft, wfTop, plotW, row * float64(n)}
	w := &waterfall{Pass: pass, Scale: "own"}
	if shared {
		w.Scale = "shared"
	}
	w.W, w.H = wfWidth, int(math.Ceil(b.bottom()))+wfBottom
	w.SecondsPerPx = strconv.FormatFloat(top/plotW, 'g', 6, 64)
	x := func(s float64) float64 { return b.x + finite(s)/top*b.w }

	xs, labels := ticks(0, top, step, x)
	w.xAxis(b, xs, labels, "seconds since the pass's first send")

	if row >= wfRowLabelAt {
		w.Titles = append(w.Titles, text{X: "14", Y: num(b.y + b.h/2), Text: "request index", Anchor: "middle", Rotate: true})
	} else {
		w.Titles = append(w.Titles, text{X: "14", Y: num(b.y + b.h/2), Text: fmt.Sprintf("%d requests", n), Anchor: "middle", Rotate: true})
	}
	for i, t := range ts {
		y := b.y + float64(i)*row + (row-barH)/2
		x0 := x(t.start)
		bw := math.Max(x(t.end)-x0, wfMinBarW)
		w.Bars = append(w.Bars, bar{X: num(x0), Y: num(y), W: num(bw), H: num(barH), Index: t.r.Index, OK: t.r.OK, Title: tooltip(t)})
		if tt := t.r.TTFTSeconds; tt != nil && !math.IsNaN(*tt) && !math.IsInf(*tt, 0) && *tt >= 0 {
			tx := x(t.start + *tt)
			ext := math.Min(2, row*0.15)
			w.TTFT = append(w.TTFT, ttftMark{
				line:  line{num(tx), num(y - ext), num(tx), num(y + barH + ext)},
				Index: t.r.Index,
				Title: fmt.Sprintf("#%d first token after %s", t.r.Index, seconds(*tt)),
			})
		}
		if row >= wfRowLabelAt {
			w.RowLabels = append(w.RowLabels, text{X: num(b.x - 8), Y: num(y + barH/2 + 4), Text: strconv.Itoa(t.r.Index), Anchor: "end"})
		}
	}
	if ref != nil && ref.at > 0 && ref.at <= top {
		rx := x(ref.at)
		label := text{X: num(rx + 5), Y: num(b.y - 8), Text: ref.label + " (" + seconds(ref.at) + ")", Anchor: "start"}
		if rx > b.x+b.w*0.6 {
			label.X, label.Anchor = num(rx-5), "end"
		}
		w.Ref = &refMark{line: line{num(rx), num(b.y - 4), num(rx), num(b.bottom())}, Label: label}
	}
	return w
}

// bins splits a latency range into equal bins of a round width.
type bins struct {
	lo, width float64
	n         int
}

// binning makes about 20 bins of round width covering lo..hi.
func binning(lo, hi float64) bins {
	if !(hi > lo) {
		// One value (or none): a range of 1 s around it.
		lo, hi = lo-0.5, hi+0.5
		if lo < 0 {
			lo, hi = 0, hi-lo
		}
	}
	width := niceStep(hi-lo, 20)
	start := math.Floor(lo/width+1e-9) * width
	n := int(math.Floor((hi-start)/width+1e-9)) + 1
	return bins{lo: start, width: width, n: max(n, 1)}
}

// count returns how many values fall in each bin; a value on an edge goes
// to the bin above it, and the range covers every value.
func (b bins) count(values []float64) []int {
	c := make([]int, b.n)
	for _, v := range values {
		i := int(math.Floor((v-b.lo)/b.width + 1e-9))
		c[min(max(i, 0), b.n-1)]++
	}
	return c
}

const (
	hWidth  = 540
	hHeight = 220
	hLeft   = 52
	hRight  = 16
	hTop    = 14
	hBottom = 48
)

type histogram struct {
	frame
	Pass  string
	Count int
	Bins  []binRect
}

type binRect struct {
	X, Y, W, H string
	Count      int
	Lo, Hi     string
	Title      string
}

// buildHistogram draws counts on the bins; maxCount sets the y axis, the
// same for both passes.
func buildHistogram(pass string, bs bins, counts []int, maxCount int) *histogram {
	h := &histogram{Pass: pass}
	h.W, h.H = hWidth, hHeight
	b := box{hLeft, hTop, hWidth - hLeft - hRight, hHeight - hTop - hBottom}
	hi := bs.lo + float64(bs.n)*bs.width
	x := func(v float64) float64 { return b.x + (v-bs.lo)/(hi-bs.lo)*b.w }
	yTop, yStep := niceCeil(float64(maxCount), 5)
	yStep = math.Max(1, math.Round(yStep))
	yTop = math.Ceil(float64(maxCount)/yStep) * yStep
	y := func(c float64) float64 { return b.bottom() - c/yTop*b.h }

	xStep := niceStep(hi-bs.lo, 6)
	xs, xl := ticks(bs.lo, hi, xStep, x)
	h.xAxis(b, xs, xl, "latency (seconds), successful requests")
	ys, yl := ticks(0, yTop, yStep, y)
	h.yAxis(b, ys, yl, "requests")

	d := decimals(bs.width)
	for i, c := range counts {
		lo := bs.lo + float64(i)*bs.width
		x0, x1 := x(lo), x(lo+bs.width)
		gap := math.Min(1, (x1-x0)/4)
		h.Count += c
		loS := strconv.FormatFloat(lo, 'f', d, 64)
		hiS := strconv.FormatFloat(lo+bs.width, 'f', d, 64)
		h.Bins = append(h.Bins, binRect{
			X: num(x0 + gap/2), Y: num(y(float64(c))), W: num(x1 - x0 - gap), H: num(y(0) - y(float64(c))),
			Count: c, Lo: loS, Hi: hiS,
			Title: fmt.Sprintf("%d %s from %s s to %s s", c, plural(c, "request", "requests"), loS, hiS),
		})
	}
	return h
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

const (
	lcWidth  = 540
	lcHeight = 270
	lcLeft   = 60
	lcRight  = 20
	lcTop    = 16
	lcBottom = 48
)

type lineChart struct {
	frame
	Metric string
	Series []series
}

type series struct {
	Name   string
	Points string
	Dots   []dot
}

type dot struct {
	X, Y        string
	Concurrency int
	Errors      bool
	Title       string
}

// buildSweepCharts draws requests per second, and p50 and p95 latency,
// against concurrency. levels are sorted by concurrency.
func buildSweepCharts(levels []SweepLevel) (throughput, latency *lineChart) {
	ax := sweepAxis(levels)
	throughput = ax.chart(levels, "throughput", "requests per second", []string{"throughput"},
		func(l SweepLevel, _ int) float64 { return l.RequestsPerSecond }, "requests/s")
	latency = ax.chart(levels, "latency", "latency (seconds)", []string{"p50", "p95"},
		func(l SweepLevel, s int) float64 {
			if s == 0 {
				return l.P50LatencySeconds
			}
			return l.P95LatencySeconds
		}, "s")
	return throughput, latency
}

// concurrencyAxis is the x axis of the sweep charts: concurrency, on a log
// scale when the levels span a factor of 8 or more.
type concurrencyAxis struct {
	b      box
	x      func(c int) float64
	xs     []float64
	labels []string
	title  string
}

// sweepAxis makes the concurrency axis of levels, sorted by concurrency.
func sweepAxis(levels []SweepLevel) concurrencyAxis {
	cmin, cmax := levels[0].Concurrency, levels[len(levels)-1].Concurrency
	// Concurrency levels usually double: a log scale spaces them evenly.
	logScale := cmin >= 1 && cmax >= 8*cmin
	ax := concurrencyAxis{b: box{lcLeft, lcTop, lcWidth - lcLeft - lcRight, lcHeight - lcTop - lcBottom}, title: "concurrency (requests in flight)"}
	pad := 14.0
	xv := func(c int) float64 {
		if logScale {
			return math.Log2(float64(max(c, 1)))
		}
		return float64(c)
	}
	lo, hi := xv(cmin), xv(cmax)
	b := ax.b
	ax.x = func(c int) float64 {
		if hi == lo {
			return b.x + b.w/2
		}
		return b.x + pad + (xv(c)-lo)/(hi-lo)*(b.w-2*pad)
	}
	// Label every level unless there are too many; then every k-th.
	every := (len(levels) + 11) / 12
	for i, l := range levels {
		if i%every == 0 || i == len(levels)-1 {
			if i == len(levels)-1 && i%every != 0 && len(ax.xs) > 0 && ax.x(l.Concurrency)-ax.xs[len(ax.xs)-1] < 24 {
				ax.xs, ax.labels = ax.xs[:len(ax.xs)-1], ax.labels[:len(ax.labels)-1]
			}
			ax.xs = append(ax.xs, ax.x(l.Concurrency))
			ax.labels = append(ax.labels, strconv.Itoa(l.Concurrency))
		}
	}
	if logScale {
		ax.title += ", log scale"
	}
	return ax
}

// chart draws one series per name of value(level, series index) against
// concurrency, on a y axis from 0 that fits them all.
func (ax concurrencyAxis) chart(levels []SweepLevel, metric, yTitle string, names []string, value func(SweepLevel, int) float64, unit string) *lineChart {
	b := ax.b
	c := &lineChart{Metric: metric}
	c.W, c.H = lcWidth, lcHeight
	var vmax float64
	for _, l := range levels {
		for s := range names {
			vmax = math.Max(vmax, finite(value(l, s)))
		}
	}
	if vmax <= 0 {
		vmax = 1
	}
	top, step := niceCeil(vmax, 5)
	y := func(v float64) float64 { return b.bottom() - finite(v)/top*b.h }
	c.xAxis(b, ax.xs, ax.labels, ax.title)
	ys, yl := ticks(0, top, step, y)
	c.yAxis(b, ys, yl, yTitle)
	for s, name := range names {
		se := series{Name: name}
		var pts []string
		for _, l := range levels {
			v := value(l, s)
			px, py := ax.x(l.Concurrency), y(v)
			pts = append(pts, num(px)+","+num(py))
			se.Dots = append(se.Dots, dot{X: num(px), Y: num(py), Concurrency: l.Concurrency, Errors: levelFailed(l), Title: dotTitle(l, name, v, unit)})
		}
		se.Points = strings.Join(pts, " ")
		c.Series = append(c.Series, se)
	}
	return c
}

// levelFailed reports whether any request of a sweep level failed.
func levelFailed(l SweepLevel) bool { return l.Count429 > 0 || finite(l.ErrorRate) > 0 }

// dotTitle is the tooltip of a sweep level's point of series name (""
// when the chart has one series) at value v.
func dotTitle(l SweepLevel, name string, v float64, unit string) string {
	title := fmt.Sprintf("concurrency %d: %s %s", l.Concurrency, formatValue(v), unit)
	if name != "" {
		title = fmt.Sprintf("concurrency %d: %s %s %s", l.Concurrency, name, formatValue(v), unit)
	}
	if levelFailed(l) {
		title += fmt.Sprintf("; %.1f%% failed, %d × HTTP 429", 100*finite(l.ErrorRate), l.Count429)
	}
	return title
}

func formatValue(v float64) string {
	v = finite(v)
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
