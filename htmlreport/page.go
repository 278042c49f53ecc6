package htmlreport

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/stats"
)

// page is everything the template shows, computed beforehand: the template
// only places it, and html/template escapes every string.
type page struct {
	Title        string
	Subtitle     string
	Verdict      string
	VerdictClass string
	VerdictLabel string
	Conclusion   string
	Error        string
	// Rerun says that the page merges a rerun of failed requests into the
	// run it reran, and names both.
	Rerun     string
	Figures   []figure
	Config    []field
	Timeline  timeline
	Latency   latency
	Sweep     *sweepSection
	Probe     *probeSection
	Intervals []intervalSection
	Repeat    *repeatSection
	Failures  []failureGroup
	Footer    []field
	// Cost is the cost section's lines (report.Cost.Lines); none for a
	// run without one.
	Cost []string
}

type figure struct{ Label, Value, Note string }

type field struct{ Key, Value, Note string }

type timeline struct {
	Shared    bool
	ScaleNote string
	HasTTFT   bool
	HasFailed bool
	// HasRef is set when the sequential timeline marks the end of the
	// concurrent pass.
	HasRef bool
	Passes []passTimeline
	// Workers, when several workers sent the requests, colour the bars.
	Workers []workerKey
}

type passTimeline struct {
	Pass, Title string
	Stats       []string
	// Missing says why there is no chart.
	Missing string
	// NotSent counts the requests that have no timestamps, so no bar.
	NotSent int
	Chart   *waterfall
}

type latency struct {
	Passes []passHistogram
}

type passHistogram struct {
	Pass, Title string
	Stats       []string
	Missing     string
	Chart       *histogram
}

type sweepSection struct {
	Throughput *lineChart
	Latency    *lineChart
	Rows       []sweepRow
	HasErrors  bool
}

type sweepRow struct {
	Concurrency                              string
	RequestsPerSecond, OutputTokensPerSecond string
	P50, P95, ErrorRate, Count429            string
	Errors                                   bool
}

type failureGroup struct {
	Pass, Title string
	// Kinds counts the pass's failures by error kind, compactly.
	Kinds string
	Rows  []failureRow
	More  int
}

type failureRow struct {
	Index, Status, Kind, Latency, Error string
}

// Limits that keep the page readable and its size bounded.
const (
	maxFailureRows    = 50  // failed requests listed per pass
	maxTooltipPrompt  = 120 // characters of the prompt in a bar's tooltip
	maxTooltipError   = 300 // characters of an error in a tooltip
	maxFailureError   = 400 // characters of an error in the failures table
	sharedScaleMinFit = 1.0 / 40
)

func buildPage(d report.Document, opts Options) page {
	p := page{
		Title:      "LLM API concurrency test",
		Verdict:    d.Conclusion.Verdict,
		Conclusion: d.Conclusion.Text,
		Error:      d.Error,
	}
	p.VerdictClass, p.VerdictLabel = verdict(d.Conclusion.Verdict)
	var sub []string
	if d.Config.Model != "" {
		sub = append(sub, d.Config.Model)
	}
	sub = append(sub, fmt.Sprintf("%d requests per pass", d.Config.Requests))
	if d.Config.Concurrency > 0 {
		sub = append(sub, fmt.Sprintf("%d at once", d.Config.Concurrency))
	}
	if t := displayTime(d.StartedAt); t != "" {
		sub = append(sub, t)
	}
	p.Subtitle = strings.Join(sub, " · ")

	p.Figures = append(figures(d), goodputFigures(d)...)
	p.Config = append(config(d.Config), rateFields(d)...)
	p.Cost = d.Cost.Lines()
	p.Timeline = buildTimeline(d)
	if d.Rerun != nil {
		p.Rerun, p.Timeline = rerunTimeline(d)
	}
	p.Latency = buildLatency(d)
	if len(opts.Sweep) > 0 {
		p.Sweep = buildSweep(opts.Sweep)
	}
	p.Probe = buildProbe(d)
	p.Intervals = buildIntervals(d)
	p.Repeat = buildRepeat(d.Repeat)
	p.Failures = failures(d)
	p.Footer = []field{
		{Key: "Workflow", Value: d.WorkflowID},
		{Key: "Run", Value: d.RunID},
		{Key: "Started", Value: displayTime(d.StartedAt)},
		{Key: "Finished", Value: displayTime(d.FinishedAt)},
		{Key: "Schema", Value: strconv.Itoa(d.SchemaVersion)},
	}
	return p
}

// verdict maps a verdict to a CSS class of a fixed set, and a label.
func verdict(v string) (class, label string) {
	switch v {
	case analysis.VerdictConcurrent:
		return "v-concurrent", "Concurrent"
	case analysis.VerdictPartiallyConcurrent:
		return "v-partial", "Partially concurrent"
	case analysis.VerdictSerialized:
		return "v-serialized", "Serialized"
	case analysis.VerdictInconclusive:
		return "v-inconclusive", "Inconclusive"
	case "":
		return "v-inconclusive", "No verdict"
	}
	return "v-inconclusive", v
}

func figures(d report.Document) []figure {
	total := func(p *report.Pass) figure {
		if p == nil {
			return figure{Value: "—", Note: "did not run"}
		}
		return figure{Value: seconds(p.TotalSeconds), Note: fmt.Sprintf("%d ok, %d failed", p.Successful, p.Failed)}
	}
	seq, conc := total(d.Sequential), total(d.Concurrent)
	seq.Label, conc.Label = "Sequential total", "Concurrent total"
	speedup := figure{Label: "Speedup", Value: "—", Note: "needs both passes"}
	par := figure{Label: "Effective parallelism", Value: "—", Note: "needs both passes"}
	if c := d.Comparison; c != nil {
		speedup.Value = fmt.Sprintf("%.1f×", finite(c.Speedup))
		speedup.Note = fmt.Sprintf("%s saved (%.0f%%)", seconds(c.TimeSavedSeconds), finite(c.TimeReductionPercent))
		par.Value = fmt.Sprintf("%.1f", finite(c.EffectiveParallelism))
		par.Note = "requests served at once"
		if d.Config.Concurrency > 0 {
			par.Note = fmt.Sprintf("requests served at once, of %d", min(d.Config.Concurrency, max(d.Config.Requests, 1)))
		}
	}
	return []figure{seq, conc, speedup, par}
}

func config(c report.Config) []field {
	out := []field{
		{Key: "Model", Value: c.Model},
		{Key: "Requests per pass (N)", Value: strconv.Itoa(c.Requests)},
		{Key: "Concurrency (C)", Value: strconv.Itoa(c.Concurrency)},
		{Key: "Endpoint", Value: c.Endpoint, Note: endpointNote(c)},
		{Key: "Max tokens", Value: strconv.Itoa(c.MaxTokens)},
		{Key: "Passes", Value: c.Passes},
		{Key: "Prompts", Value: c.PromptsSource},
		{Key: "Request timeout", Value: seconds(c.RequestTimeoutSeconds)},
	}
	return out
}

// endpointNote names the endpoint as the run chose it (its allow-listed
// name), with its label.
func endpointNote(c report.Config) string {
	switch {
	case c.EndpointName == "":
		return c.EndpointLabel
	case c.EndpointLabel == "":
		return "endpoint " + c.EndpointName
	}
	return "endpoint " + c.EndpointName + ", " + c.EndpointLabel
}

// titledPass is a pass of the document (nil when it did not run) with its
// name and its section's title.
type titledPass struct {
	name, title string
	p           *report.Pass
}

// passes lists the document's sequential and concurrent passes in order.
func passes(d report.Document) []titledPass {
	return []titledPass{
		{string(record.PassSequential), "Sequential pass: one request after another", d.Sequential},
		{string(record.PassConcurrent), "Concurrent pass: requests sent together", d.Concurrent},
	}
}

// timed is a record that was sent, with its times relative to the pass's
// first send.
type timed struct {
	r          record.Request
	start, end float64 // seconds
}

// timedRecords returns the records that have both timestamps, sorted by send
// time then index, relative to the first send; and how many have none.
func timedRecords(recs []record.Request) (out []timed, notSent int) {
	type abs struct {
		r          record.Request
		sent, recv time.Time
	}
	var all []abs
	for _, r := range recs {
		sent, recv := r.SentAt, r.ReceivedAt
		if !r.Answered() {
			notSent++
			continue
		}
		all = append(all, abs{r, sent, recv})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].sent.Equal(all[j].sent) {
			return all[i].sent.Before(all[j].sent)
		}
		return all[i].r.Index < all[j].r.Index
	})
	if len(all) == 0 {
		return nil, notSent
	}
	origin := all[0].sent
	for _, a := range all {
		end := a.recv.Sub(origin).Seconds()
		start := a.sent.Sub(origin).Seconds()
		if end < start {
			end = start
		}
		out = append(out, timed{a.r, start, end})
	}
	return out, notSent
}

func span(ts []timed) float64 {
	var s float64
	for _, t := range ts {
		s = max(s, t.end)
	}
	return s
}

func passStats(p *report.Pass) []string {
	mean := "mean latency n/a"
	if p.Successful > 0 {
		mean = "mean latency " + seconds(p.AverageLatencySeconds)
	}
	return append([]string{
		fmt.Sprintf("%d ok", p.Successful),
		fmt.Sprintf("%d failed", p.Failed),
		"total " + seconds(p.TotalSeconds),
		mean,
		"start spread " + seconds(p.StartSpreadSeconds),
		fmt.Sprintf("max in flight %d", p.MaxInFlight),
		fmt.Sprintf("%d connections (cold requests: %d)", p.Connections, p.ColdConnections),
	}, workerStats(p.PassSummary)...)
}

// preparedPass is a pass (nil when it did not run) with its timed records.
type preparedPass struct {
	titledPass
	ts      []timed
	notSent int
	span    float64
}

// buildTimeline is the timeline section: a waterfall of each pass, on one
// time scale when the shorter pass stays wide enough to read on it.
func buildTimeline(d report.Document) timeline {
	var ps []preparedPass
	for _, x := range passes(d) {
		pr := preparedPass{titledPass: x}
		if x.p != nil {
			pr.ts, pr.notSent = timedRecords(x.p.Requests)
			pr.span = span(pr.ts)
		}
		ps = append(ps, pr)
	}
	longest, shortest, drawn := spans(ps)
	var tl timeline
	tl.Shared = drawn == 2 && shortest/longest >= sharedScaleMinFit
	tl.ScaleNote = scaleNote(tl.Shared, drawn, shortest/longest)
	// Each timeline marks where the other pass ended, when that is on its
	// axis: the end of the concurrent pass on the sequential one, and, at a
	// shared scale, the end of the sequential pass on the concurrent one.
	refs := make([]*reference, len(ps))
	if drawn == 2 {
		tl.HasRef = true
		refs[0] = &reference{at: ps[1].span, label: "concurrent pass done"}
		refs[1] = &reference{at: ps[0].span, label: "sequential pass done"}
	}
	tl.Workers = workerKeys(ps)
	for i, pr := range ps {
		domain := max(pr.span, 1e-3)
		if tl.Shared {
			domain = longest
		}
		tl.Passes = append(tl.Passes, passTimelineOf(pr, domain, tl.Shared, refs[i]))
		colourByWorker(tl.Passes[i].Chart, pr.ts, tl.Workers)
		for _, t := range pr.ts {
			tl.HasFailed = tl.HasFailed || !t.r.OK
			tl.HasTTFT = tl.HasTTFT || t.r.TTFTSeconds != nil
		}
	}
	return tl
}

// spans returns the longest and the shortest span (at least 1 ms) of the
// passes with a timed record, and how many have one.
func spans(ps []preparedPass) (longest, shortest float64, drawn int) {
	for _, pr := range ps {
		if len(pr.ts) == 0 {
			continue
		}
		s := max(pr.span, 1e-3)
		if drawn == 0 {
			longest, shortest = s, s
		}
		longest, shortest = max(longest, s), min(shortest, s)
		drawn++
	}
	return longest, shortest, drawn
}

// scaleNote explains the timelines' scales; fit is the shorter pass's span
// over the longer one's.
func scaleNote(shared bool, drawn int, fit float64) string {
	switch {
	case shared:
		return "One bar per request, from its send to its response, in order of sending. " +
			"Both passes share one time scale, so their lengths compare directly."
	case drawn == 2:
		return fmt.Sprintf("The timelines have different scales: the shorter pass took %.1f%% of the longer one's time, "+
			"too little to see at a common scale: read the axes. One bar per request, from its send to its response, in order of sending.",
			100*fit)
	}
	return "One bar per request, from its send to its response, in order of sending."
}

// passTimelineOf is a pass's timeline: its figures and its waterfall over
// domain seconds, or why there is none.
func passTimelineOf(pr preparedPass, domain float64, shared bool, ref *reference) passTimeline {
	pt := passTimeline{Pass: pr.name, Title: pr.title, NotSent: pr.notSent}
	if pr.p != nil {
		pt.Stats = passStats(pr.p)
	}
	switch {
	case pr.p == nil:
		pt.Missing = "This pass did not run."
	case len(pr.ts) == 0:
		pt.Missing = "No request of this pass was sent."
	default:
		pt.Chart = buildWaterfall(pr.name, pr.ts, domain, shared, ref)
	}
	return pt
}

// buildLatency is the latency section: a histogram of each pass's
// successful latencies, both on the same bins and the same y axis.
func buildLatency(d report.Document) latency {
	ps := passes(d)
	lat, lo, hi := latencies(ps)
	bins := binning(lo, hi)
	var counts [][]int
	maxCount := 1
	for i := range lat {
		c := bins.count(lat[i])
		counts = append(counts, c)
		for _, k := range c {
			maxCount = max(maxCount, k)
		}
	}
	var l latency
	for i, x := range ps {
		ph := passHistogram{Pass: x.name, Title: strings.SplitN(x.title, ":", 2)[0]}
		switch {
		case x.p == nil:
			ph.Missing = "This pass did not run."
		case len(lat[i]) == 0:
			ph.Missing = "No successful request in this pass."
		default:
			s := stats.Describe(lat[i])
			ph.Stats = []string{
				fmt.Sprintf("n = %d", s.N),
				"median " + seconds(s.P50),
				"p95 " + seconds(s.P95),
				"min " + seconds(s.Min),
				"max " + seconds(s.Max),
			}
			ph.Chart = buildHistogram(x.name, bins, counts[i], maxCount)
		}
		l.Passes = append(l.Passes, ph)
	}
	return l
}

// latencies returns the finite latencies of each pass's successful
// requests, sorted, and the range of them all (0, 0 when there is none).
func latencies(ps []titledPass) (lat [][]float64, lo, hi float64) {
	lat = make([][]float64, len(ps))
	found := false
	for i, x := range ps {
		if x.p == nil {
			continue
		}
		var v []float64
		for _, r := range x.p.Requests {
			if r.OK {
				v = append(v, r.LatencySeconds)
			}
		}
		lat[i] = stats.FiniteSorted(v)
		if n := len(lat[i]); n > 0 {
			if !found {
				lo, hi, found = lat[i][0], lat[i][n-1], true
			}
			lo, hi = min(lo, lat[i][0]), max(hi, lat[i][n-1])
		}
	}
	return lat, lo, hi
}

func buildSweep(levels []SweepLevel) *sweepSection {
	ls := append([]SweepLevel(nil), levels...)
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Concurrency < ls[j].Concurrency })
	s := &sweepSection{}
	for _, l := range ls {
		errs := levelFailed(l)
		s.HasErrors = s.HasErrors || errs
		s.Rows = append(s.Rows, sweepRow{
			Concurrency:           strconv.Itoa(l.Concurrency),
			RequestsPerSecond:     fmt.Sprintf("%.2f", finite(l.RequestsPerSecond)),
			OutputTokensPerSecond: fmt.Sprintf("%.1f", finite(l.OutputTokensPerSecond)),
			P50:                   seconds(l.P50LatencySeconds),
			P95:                   seconds(l.P95LatencySeconds),
			ErrorRate:             fmt.Sprintf("%.1f%%", 100*finite(l.ErrorRate)),
			Count429:              strconv.Itoa(l.Count429),
			Errors:                errs,
		})
	}
	s.Throughput, s.Latency = buildSweepCharts(ls)
	return s
}

func failures(d report.Document) []failureGroup {
	var out []failureGroup
	for _, x := range passes(d) {
		if x.p == nil {
			continue
		}
		g := failureGroup{Pass: x.name, Title: strings.SplitN(x.title, ":", 2)[0], Kinds: strings.Join(report.KindCounts(x.p.ErrorKinds), ", ")}
		recs := append([]record.Request(nil), x.p.Requests...)
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].Index < recs[j].Index })
		for _, r := range recs {
			if r.OK {
				continue
			}
			if len(g.Rows) == maxFailureRows {
				g.More++
				continue
			}
			row := failureRow{Index: strconv.Itoa(r.Index), Status: status(r), Kind: record.ErrorKindOf(r), Error: truncate(r.Error, maxFailureError)}
			if !r.SentAt.IsZero() {
				row.Latency = seconds(r.LatencySeconds)
			}
			g.Rows = append(g.Rows, row)
		}
		if len(g.Rows) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// status describes a record's outcome in a few words.
func status(r record.Request) string {
	switch {
	case r.SentAt.IsZero():
		return "not sent"
	case r.HTTPStatus == 0 && !r.OK:
		return "no response"
	case r.HTTPStatus == 0:
		return "ok"
	}
	return "HTTP " + strconv.Itoa(r.HTTPStatus)
}

// tooltip is a bar's <title>: what a reader hovering over it wants to know.
func tooltip(t timed) string {
	r := t.r
	var b strings.Builder
	if r.OK {
		fmt.Fprintf(&b, "#%d ok, %s", r.Index, seconds(r.LatencySeconds))
		if r.CompletionTokens > 0 {
			fmt.Fprintf(&b, ", %d output tokens", r.CompletionTokens)
		}
	} else {
		fmt.Fprintf(&b, "#%d failed: %s (%s), %s", r.Index, status(r), record.ErrorKindOf(r), seconds(r.LatencySeconds))
	}
	if r.TTFTSeconds != nil {
		fmt.Fprintf(&b, ", first token after %s", seconds(*r.TTFTSeconds))
	}
	fmt.Fprintf(&b, "\nsent at +%.3f s, answered at +%.3f s", t.start, t.end)
	if r.Attempt > 1 {
		fmt.Fprintf(&b, " (attempt %d)", r.Attempt)
	}
	if r.Worker != "" {
		b.WriteString("\nsent by worker " + analysis.WorkerName(r.Worker))
	}
	if r.Error != "" {
		b.WriteString("\nerror: " + truncate(r.Error, maxTooltipError))
	}
	if r.Prompt != "" {
		b.WriteString("\nprompt: " + truncate(r.Prompt, maxTooltipPrompt))
	}
	return b.String()
}

// seconds formats a duration in seconds for reading.
func seconds(s float64) string {
	s = finite(s)
	switch {
	case s != 0 && s < 0.01 && s > -0.01:
		return fmt.Sprintf("%.1f ms", 1000*s)
	case s < 100 && s > -100:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

// displayTime shows an RFC 3339 instant in UTC to the second.
func displayTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// truncate cuts s to at most n characters on a character boundary, and puts
// it on one line.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// rerunTimeline is the timeline of a rerun of failed requests merged into
// the run it reran: the original run's timelines hold its own records (the
// resent requests' first tries are not drawn there), on its time axis with
// its own "pass done" marks; each pass's resent requests follow on a
// timeline of their own, as they were sent later, by another run. It
// returns the banner naming both runs too.
func rerunTimeline(d report.Document) (string, timeline) {
	resent, n := resentIndexes(d.Rerun)
	banner := fmt.Sprintf("Rerun of failed requests: this report merges run %s with the %d %s that failed there, resent by run %s. "+
		"Counts and latencies cover the merged requests; total times, the comparison and the verdict are run %s's.",
		d.Rerun.Of, n, plural(n, "request", "requests"), d.WorkflowID, d.Rerun.Of)
	base := d
	var extra []passTimeline
	for _, x := range []struct {
		name string
		p    **report.Pass
	}{{string(record.PassSequential), &base.Sequential}, {string(record.PassConcurrent), &base.Concurrent}} {
		if *x.p == nil {
			continue
		}
		orig, again := splitResent(*x.p, resent[x.name])
		*x.p = orig
		if len(again) > 0 {
			extra = append(extra, resentTimeline(x.name, again, d.WorkflowID))
		}
	}
	tl := buildTimeline(base)
	tl.ScaleNote += fmt.Sprintf(" The timelines of the passes are run %s's; the requests resent by run %s follow, each pass's on its own axis.", d.Rerun.Of, d.WorkflowID)
	for _, pt := range extra {
		if pt.Chart == nil {
			continue
		}
		for _, b := range pt.Chart.Bars {
			if !b.OK {
				tl.HasFailed = true
			}
		}
	}
	tl.Passes = append(tl.Passes, extra...)
	return banner, tl
}

// resentIndexes are the indices of the resent requests by pass, and how
// many there are.
func resentIndexes(r *report.Rerun) (map[string]map[int]bool, int) {
	resent := map[string]map[int]bool{}
	n := 0
	for pass, idx := range r.Resent {
		resent[string(pass)] = map[int]bool{}
		for _, i := range idx {
			resent[string(pass)][i] = true
			n++
		}
	}
	return resent, n
}

// splitResent returns p with the original run's records only, and the
// records of the resent requests.
func splitResent(p *report.Pass, resent map[int]bool) (*report.Pass, []record.Request) {
	orig, again := *p, []record.Request{}
	orig.Requests = nil
	for _, r := range p.Requests {
		if resent[r.Index] {
			again = append(again, r)
		} else {
			orig.Requests = append(orig.Requests, r)
		}
	}
	return &orig, again
}

// resentTimeline is the timeline of a pass's resent requests, on their own
// time axis.
func resentTimeline(pass string, again []record.Request, rerunID string) passTimeline {
	pt := passTimeline{Pass: pass + "-resent", Title: fmt.Sprintf("%s pass: the %d resent %s, on their own time axis (run %s)",
		strings.ToUpper(pass[:1])+pass[1:], len(again), plural(len(again), "request", "requests"), rerunID)}
	ts, notSent := timedRecords(again)
	pt.NotSent = notSent
	ok := 0
	for _, r := range again {
		if r.OK {
			ok++
		}
	}
	pt.Stats = []string{fmt.Sprintf("%d ok", ok), fmt.Sprintf("%d failed", len(again)-ok)}
	if len(ts) == 0 {
		pt.Missing = "No resent request was sent."
	} else {
		pt.Chart = buildWaterfall(pt.Pass, ts, max(span(ts), 1e-3), false, nil)
	}
	return pt
}
