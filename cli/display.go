package cli

import (
	"sort"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/workflows"
)

var passOrder = []string{activities.PassSequential, activities.PassConcurrent}

// display prints a run's progress exactly once per item, whether the items
// come from live progress queries or from the finished result (as when
// attaching to a run that already ended).
type display struct {
	t           report.Text
	configShown bool
	current     string
	headers     map[string]bool
	requests    map[string]map[int]bool
	summaries   map[string]bool
}

func newDisplay(t report.Text) *display {
	return &display{
		t:         t,
		headers:   map[string]bool{},
		requests:  map[string]map[int]bool{activities.PassSequential: {}, activities.PassConcurrent: {}},
		summaries: map[string]bool{},
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
	d.current = pass
	d.t.PassHeader(pass, c.Requests, c.Concurrency)
}

func (d *display) request(ev workflows.ProgressEvent, c report.Config) {
	if d.requests[ev.Pass][ev.Index] {
		return
	}
	d.requests[ev.Pass][ev.Index] = true
	d.t.Request(ev, c.Requests)
}

// progress shows what a progress query returned.
func (d *display) progress(p workflows.Progress, c report.Config) {
	passes := map[string]workflows.PassProgress{
		activities.PassSequential: p.Sequential,
		activities.PassConcurrent: p.Concurrent,
	}
	for _, ev := range p.Events {
		if d.current != "" && d.current != ev.Pass {
			if s := passes[d.current].Summary; s != nil && !d.summaries[d.current] {
				d.summaries[d.current] = true
				d.t.PassSummary(d.current, *s)
			}
		}
		d.header(ev.Pass, c)
		d.request(ev, c)
	}
	for _, pass := range passOrder {
		pp := passes[pass]
		if pp.Summary != nil && pp.Total > 0 && pp.Done == pp.Total && !d.summaries[pass] {
			d.header(pass, c)
			d.summaries[pass] = true
			d.t.PassSummary(pass, *pp.Summary)
		}
	}
}

// result shows whatever the live display missed, then the comparison and the
// conclusion.
func (d *display) result(doc report.Document) {
	for _, pass := range passOrder {
		p := doc.Sequential
		if pass == activities.PassConcurrent {
			p = doc.Concurrent
		}
		if p == nil {
			continue
		}
		d.header(pass, doc.Config)
		recs := append([]activities.RequestRecord(nil), p.Requests...)
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].Received().Before(recs[j].Received()) })
		for _, r := range recs {
			d.request(workflows.EventOf(r), doc.Config)
		}
		if !d.summaries[pass] {
			d.summaries[pass] = true
			d.t.PassSummary(pass, p.PassSummary)
		}
	}
	if doc.Comparison != nil {
		d.t.Comparison(*doc.Comparison)
	}
	d.t.Conclusion(doc.Conclusion)
}
