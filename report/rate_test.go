package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// A pass sent at a rate reports its target and achieved rates; a burst
// reports neither.
func TestRateFigures(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []record.Request
	for i := range 5 {
		recs = append(recs, record.Request{Index: i, Pass: record.PassConcurrent, OK: true, SentAt: t0.Add(time.Duration(i) * 250 * time.Millisecond)})
	}
	r := testrun.Result{
		Config:     testrun.Input{Requests: 5, Rate: 5, Burstiness: 1, Seed: 3, Passes: testrun.PassesConcurrent},
		Concurrent: &testrun.PassResult{Pass: record.PassConcurrent, TargetRate: 5, Records: recs},
	}
	d := report.Build("wf", "run", r)
	p := d.Concurrent
	if p.TargetRate == nil || *p.TargetRate != 5 || p.AchievedRate == nil || *p.AchievedRate != 4 || p.ArrivalGapCV != nil {
		t.Fatalf("target %v, achieved %v, cv %v: want 5, 4, none (fixed gaps)", p.TargetRate, p.AchievedRate, p.ArrivalGapCV)
	}
	if d.Config.Rate != 5 || d.Config.Seed != 3 || d.Config.Burstiness != 1 {
		t.Errorf("config %+v", d.Config)
	}
	if d.Conclusion.Verdict != "inconclusive" || !strings.Contains(d.Conclusion.Text, "arrivals at 5 per second (open loop, achieved 4.00 per second)") {
		t.Errorf("conclusion %+v: want no verdict on concurrency, and the load", d.Conclusion)
	}
	if h := testrun.HeadlineOf(r); h.Verdict != "inconclusive" || h.Text != "inconclusive: open loop at 5/s" {
		t.Errorf("headline %+v", h)
	}
	var b bytes.Buffer
	report.Text{W: &b}.Arrivals(p)
	report.Text{W: &b}.ConfigBlock(d.Config)
	for _, want := range []string{"Target rate:    5.00/s", "Achieved rate:  4.00/s", "Arrival rate:      5 requests/s, burstiness 1, seed 3"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the text lacks %q:\n%s", want, b.String())
		}
	}
	r.Concurrent.TargetRate = 0
	if p := report.Build("wf", "run", r).Concurrent; p.TargetRate != nil || p.AchievedRate != nil {
		t.Error("a burst has rate figures")
	}
}
