package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

var passOrder = []string{string(record.PassSequential), string(record.PassConcurrent)}

// display prints a run's progress exactly once per item, whether the items
// come from live progress queries or from the finished result (as when
// attaching to a run that already ended).
type display struct {
	t           report.Text
	configShown bool
	current     string
	headers     map[string]bool
	requests    map[string]map[int]int32 // per pass: the last try shown of each request
	ok          map[string]map[int]bool  // per pass: whether each request's last try shown succeeded
	summaries   map[string]bool
	// tty is set when the output is a terminal: a progress bar is then
	// redrawn in place; otherwise it prints a line every 10 %.
	tty     bool
	failed  map[string]int
	shown   map[string]int  // the last progress bar step shown, per pass
	barOpen map[string]bool // a bar drawn in place awaits its newline
	// began is when each pass's header was shown, for the bar's elapsed
	// time and estimate.
	began map[string]time.Time
	// columns is the terminal's width, for the bar (0: 80).
	columns func() int
	now     func() time.Time
	// rerunOf is set while a rerun of failed requests shows live: its
	// lines are the resent requests, under a header naming the run they
	// failed in, and its own summaries (of a few requests, with no timing
	// to compare) give way to the merged result's.
	rerunOf string
}

// barAbove is the number of requests per pass above which a progress bar
// replaces the per-request lines.
const barAbove = 20

func newDisplay(t report.Text, tty bool) *display {
	return &display{
		t:         t,
		headers:   map[string]bool{},
		requests:  map[string]map[int]int32{},
		ok:        map[string]map[int]bool{},
		summaries: map[string]bool{},
		tty:       tty,
		failed:    map[string]int{},
		shown:     map[string]int{},
		barOpen:   map[string]bool{},
		began:     map[string]time.Time{},
		columns:   func() int { return 0 },
		now:       time.Now,
	}
}

// newTermDisplay is a display on w, with a progress bar in place when w is
// a terminal, as wide as it.
func newTermDisplay(w io.Writer) *display {
	d := newDisplay(report.Text{W: w}, isTerminal(w))
	d.columns = terminalColumns(w)
	return d
}

// terminalColumns returns the width of w when it is a terminal, read at
// each call (the window may be resized), else 0.
func terminalColumns(w io.Writer) func() int {
	return func() int {
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
				return cols
			}
		}
		return 0
	}
}

// config prints the configuration block once.
func (d *display) config(c report.Config, extra ...string) {
	if d.configShown {
		return
	}
	d.configShown = true
	d.t.ConfigBlock(c, extra...)
}

func (d *display) header(pass string, c report.Config) {
	if d.headers[pass] {
		return
	}
	d.headers[pass] = true
	c.Requests = passRequests(pass, c)
	d.began[pass] = d.now()
	d.current = pass
	if d.rerunOf != "" {
		fmt.Fprintf(d.t.W, "%s PASS: resending the requests that failed in run %s\n%s\n", strings.ToUpper(pass), d.rerunOf, strings.Repeat("-", 60))
		return
	}
	d.t.PassHeader(pass, c.Requests, c.Concurrency)
}

func (d *display) request(ev testrun.ProgressEvent, c report.Config) {
	pass := string(ev.Pass)
	if d.requests[pass] == nil {
		d.requests[pass], d.ok[pass] = map[int]int32{}, map[int]bool{}
	}
	try := max(ev.Attempt, 1)
	if d.requests[pass][ev.Index] >= try {
		return
	}
	d.requests[pass][ev.Index] = try
	// The failed count follows each request's latest try, kept as it goes
	// (counting them all again at each event grew with the square of N).
	if was, seen := d.ok[pass][ev.Index]; seen && !was {
		d.failed[pass]--
	}
	if !ev.OK {
		d.failed[pass]++
	}
	d.ok[pass][ev.Index] = ev.OK
	c.Requests = passRequests(pass, c)
	if c.Requests <= barAbove {
		d.t.Request(ev, c.Requests)
		return
	}
	done := len(d.requests[pass])
	step := 10 * done / c.Requests
	if d.tty || step > d.shown[pass] {
		d.shown[pass] = step
		d.barOpen[pass] = d.tty
		d.t.Bar(done, c.Requests, d.failed[pass], d.tty, report.BarTiming{Elapsed: d.now().Sub(d.began[pass]), Columns: d.columns()})
	}
}

// summary ends a pass: its progress bar's line, then its summary, once.
func (d *display) summary(pass string, s analysis.PassSummary) {
	if d.summaries[pass] {
		return
	}
	d.summaries[pass] = true
	if d.barOpen[pass] {
		d.barOpen[pass] = false
		d.t.EndBar()
	}
	if d.rerunOf != "" {
		return // the merged result's summary follows
	}
	d.t.PassSummary(pass, s)
}

// progress shows what a progress query returned.
func (d *display) progress(p testrun.Progress, c report.Config) {
	if p.Config.Only != nil && p.Config.RerunOf != "" {
		d.rerunOf = p.Config.RerunOf
	}
	passes := map[string]testrun.PassProgress{
		string(record.PassSequential): p.Sequential,
		string(record.PassConcurrent): p.Concurrent,
	}
	order := append([]string(nil), passOrder...)
	for _, sp := range p.Sweep {
		passes[string(sp.Pass)] = sp.PassProgress
		order = append(order, string(sp.Pass))
	}
	for _, ev := range p.Events {
		if d.current != "" && d.current != string(ev.Pass) {
			if s := passes[d.current].Summary; s != nil {
				d.summary(d.current, *s)
			}
		}
		d.header(string(ev.Pass), c)
		d.request(ev, c)
	}
	if p.More {
		return // a pass's summary follows its last event
	}
	for _, pass := range order {
		pp := passes[pass]
		if pp.Summary != nil && pp.Total > 0 && pp.Done == pp.Total && !d.summaries[pass] {
			d.header(pass, c)
			d.summary(pass, *pp.Summary)
		}
	}
}

// result shows whatever the live display missed, then the comparison and the
// conclusion. After a rerun of failed requests shown live, it shows the
// merged result's summaries: the resent requests' lines were shown.
func (d *display) result(doc report.Document) {
	if d.rerunOf != "" && doc.Rerun != nil {
		d.mergedResult(doc)
		return
	}
	passes := []*report.Pass{doc.Sequential, doc.Concurrent}
	names := append([]string(nil), passOrder...)
	if doc.Sweep != nil {
		for i, p := range doc.Sweep.Passes {
			passes = append(passes, p)
			names = append(names, string(record.SweepPass(doc.Config.Sweep[i])))
		}
	}
	for i, p := range passes {
		if p == nil {
			continue
		}
		pass := names[i]
		d.header(pass, doc.Config)
		recs := append([]record.Request(nil), p.Requests...)
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].ReceivedAt.Before(recs[j].ReceivedAt) })
		for _, r := range recs {
			for _, a := range r.Attempts[:max(len(r.Attempts)-1, 0)] {
				d.request(testrun.ProgressEvent{Pass: r.Pass, Index: r.Index, OK: a.HTTPStatus == 200 && a.Error == "",
					HTTPStatus: a.HTTPStatus, LatencySeconds: a.LatencySeconds, Error: a.Error, Attempt: a.Attempt}, doc.Config)
			}
			d.request(testrun.EventOf(r), doc.Config)
		}
		d.summary(pass, p.PassSummary)
	}
	if doc.Sweep != nil && doc.Probe == nil {
		d.t.SweepTable(doc.Sweep.Levels, doc.Sweep.Knee)
	}
	d.t.ProbeTable(doc.Probe)
	d.t.Goodput(doc)
	d.t.Warmup(doc.Warmup)
	d.t.Arrivals(doc.Concurrent)
	if doc.Comparison != nil {
		d.t.Comparison(*doc.Comparison)
	}
	if doc.Repeat != nil {
		d.t.RepeatTable(doc.Repeat)
	}
	d.t.Cost(doc.Cost)
	d.t.Conclusion(doc.Conclusion)
}

// mergedResult shows the result of a rerun of failed requests merged into
// the run it reran: each pass's summary, the comparison and the conclusion
// (the original run's, as its timings cannot be added to the rerun's).
func (d *display) mergedResult(doc report.Document) {
	for pass, open := range d.barOpen {
		if open {
			d.barOpen[pass] = false
			d.t.EndBar()
		}
	}
	fmt.Fprintf(d.t.W, "\nMERGED RESULT: run %s with its resent requests\n%s\n", doc.Rerun.Of, strings.Repeat("=", 60))
	fmt.Fprintln(d.t.W, "  Counts and latencies cover the merged requests; total times, the comparison and the conclusion are the original run's.")
	for i, p := range []*report.Pass{doc.Sequential, doc.Concurrent} {
		if p != nil {
			d.t.PassSummary(passOrder[i], p.PassSummary)
		}
	}
	if doc.Sweep != nil {
		d.t.SweepTable(doc.Sweep.Levels, doc.Sweep.Knee)
	}
	d.t.Goodput(doc)
	if doc.Comparison != nil {
		d.t.Comparison(*doc.Comparison)
	}
	d.t.Conclusion(doc.Conclusion)
}

// resent shows the request lines of a rerun of failed requests (own is
// its own document, before the merge) that the live display missed.
func (d *display) resent(own report.Document) {
	for i, p := range []*report.Pass{own.Sequential, own.Concurrent} {
		if p == nil || len(p.Requests) == 0 {
			continue
		}
		d.header(passOrder[i], own.Config)
		recs := append([]record.Request(nil), p.Requests...)
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].ReceivedAt.Before(recs[j].ReceivedAt) })
		for _, r := range recs {
			d.request(testrun.EventOf(r), own.Config)
		}
	}
}
