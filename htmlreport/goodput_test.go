package htmlreport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// TestGoodputFigure: with -slo the summary has a goodput figure per pass
// (met of total, the rate and the objectives); without, none.
func TestGoodputFigure(t *testing.T) {
	seq := []record.Request{withTTFT(rec("sequential", 0, 0, 1), 0.2), withTTFT(rec("sequential", 1, 1, 2), 0.8)}
	conc := []record.Request{withTTFT(rec("concurrent", 0, 10, 11), 0.2), withTTFT(rec("concurrent", 1, 10, 12), 0.3), failed(rec("concurrent", 2, 10, 10.5), 503, "busy")}
	res := testrun.Result{
		Config: testrun.Input{Requests: 3, Model: "m", Concurrency: 3, Passes: testrun.PassesBoth, Stream: true,
			RequestTimeout: time.Minute, Timeout: time.Hour, SLO: &analysis.SLO{TTFTSeconds: 0.5}},
		Sequential: &testrun.PassResult{Pass: record.PassSequential, Records: seq},
		Concurrent: &testrun.PassResult{Pass: record.PassConcurrent, Records: conc},
	}
	page := renderString(t, report.Build("wf", "run", res), htmlreport.Options{})
	for _, want := range []string{
		`<div class="label">Goodput, sequential</div><div class="value">1 of 2</div><div class="fnote">0.50 req/s met ttft ≤ 500ms</div>`,
		`<div class="label">Goodput, concurrent</div><div class="value">2 of 3</div><div class="fnote">1.00 req/s met ttft ≤ 500ms</div>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	res.Config.SLO = nil
	if page := renderString(t, report.Build("wf", "run", res), htmlreport.Options{}); strings.Contains(page, "Goodput") {
		t.Error("a page without -slo shows goodput")
	}
}
