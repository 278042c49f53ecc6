package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

func f64(v float64) *float64 { return &v }

// withSLO is result(4), streamed, under ttft ≤ 500ms and latency ≤ 3s: the
// sequential pass meets them but for one slow first token; the concurrent
// pass has a slow first token and a failure.
func withSLO() testrun.Result {
	r := result(4)
	r.Config.Stream = true
	r.Config.SLO = &analysis.SLO{TTFTSeconds: 0.5, LatencySeconds: 3}
	for _, p := range []*testrun.PassResult{r.Sequential, r.Concurrent} {
		for i := range p.Records {
			p.Records[i].Stream, p.Records[i].TTFTSeconds, p.Records[i].TPOTSeconds = true, f64(0.3), f64(0.05)
		}
	}
	r.Sequential.Records[1].TTFTSeconds = f64(0.6)
	r.Concurrent.Records[2].TTFTSeconds = f64(0.9)
	c := &r.Concurrent.Records[3]
	c.OK, c.HTTPStatus, c.Error, c.ErrorKind, c.TTFTSeconds = false, 503, "HTTP 503: busy", record.ErrorKindHTTP5xx, nil
	return r
}

// TestGoodputGolden: with -slo, the JSON has the objectives in its config
// and a goodput in each pass and sweep level, and the terminal a goodput
// line per pass; the rest is as without (see TestGoldenDocuments, whose
// runs have no -slo and so no goodput).
func TestGoodputGolden(t *testing.T) {
	sweep := sweepResult()
	sweep.Config.SLO = &analysis.SLO{LatencySeconds: 2.5}
	sweep.Sweep[2].Records[3].ReceivedAt = sweep.Sweep[2].Records[3].ReceivedAt.Add(1e9)
	sweep.Sweep[2].Records[3].LatencySeconds++
	for name, d := range map[string]report.Document{
		"goodput":       report.Build("wf", "run", withSLO()),
		"goodput_sweep": report.Build("wf", "run", sweep),
	} {
		t.Run(name, func(t *testing.T) {
			var js, txt bytes.Buffer
			if err := report.EncodeJSON(&js, d); err != nil {
				t.Fatal(err)
			}
			writeText(&txt, d)
			report.Text{W: &txt}.Goodput(d)
			golden(t, name+".json", js.Bytes())
			golden(t, name+".txt", txt.Bytes())
		})
	}
}

// TestGoodputFigures: the counts and rates of withSLO, and that a run
// without -slo has no goodput anywhere, in the document or the text.
func TestGoodputFigures(t *testing.T) {
	d := report.Build("wf", "run", withSLO())
	if d.Config.SLO == nil || *d.Config.SLO != (analysis.SLO{TTFTSeconds: 0.5, LatencySeconds: 3}) {
		t.Fatalf("config.slo %+v", d.Config.SLO)
	}
	seq, conc := d.Sequential.Goodput, d.Concurrent.Goodput
	if seq == nil || conc == nil {
		t.Fatalf("goodput sequential %v concurrent %v, want both", seq, conc)
	}
	if seq.Met != 3 || seq.Total != 4 || seq.RequestsPerSecond != 3/d.Sequential.TotalSeconds || seq.Missed["ttft"] != 1 {
		t.Errorf("sequential goodput %+v over %vs", *seq, d.Sequential.TotalSeconds)
	}
	if conc.Met != 2 || conc.Total != 4 || conc.RequestsPerSecond != 1 || conc.Missed["ttft"] != 1 || conc.Missed["failed"] != 1 {
		t.Errorf("concurrent goodput %+v, want 2 of 4 at 1/s", *conc)
	}
	var txt bytes.Buffer
	report.Text{W: &txt}.Goodput(d)
	if !strings.Contains(txt.String(), "GOODPUT (ttft ≤ 500ms, latency ≤ 3s)") ||
		!strings.Contains(txt.String(), "Concurrent:   2 of 4 met every objective (50%), 1.00 requests/s; missed: failed ×1, ttft ×1") {
		t.Errorf("goodput text:\n%s", txt.String())
	}

	plain := report.Build("wf", "run", result(3))
	for _, p := range plain.Passes() {
		if p.Goodput != nil {
			t.Errorf("goodput without -slo: %+v", *p.Goodput)
		}
	}
	txt.Reset()
	report.Text{W: &txt}.Goodput(plain)
	b, _ := json.Marshal(plain)
	if txt.Len() > 0 || strings.Contains(string(b), "goodput") || strings.Contains(string(b), `"slo"`) {
		t.Errorf("a run without -slo shows goodput: %q / %s", txt.String(), b)
	}
}

// TestGoodputOfAMergedRerun: a rerun's resent requests count in the merged
// goodput, over the original run's duration.
func TestGoodputOfAMergedRerun(t *testing.T) {
	base := report.Build("original", "run-1", withSLO())
	again := withSLO()
	again.Sequential.Records = nil
	again.Concurrent.Records = again.Concurrent.Records[3:4]
	c := &again.Concurrent.Records[0]
	c.OK, c.HTTPStatus, c.Error, c.ErrorKind, c.TTFTSeconds = true, 200, "", "", f64(0.2)
	merged := report.Merge(base, report.Build("rerun", "run-2", again))
	g := merged.Concurrent.Goodput
	if g == nil || g.Met != 3 || g.Total != 4 || g.RequestsPerSecond != 3/base.Concurrent.TotalSeconds {
		t.Errorf("merged goodput %+v, want 3 of 4 over the original %vs", g, base.Concurrent.TotalSeconds)
	}
}

// TestMergeTakesTheRerunsObjectives: `starter result -slo` of a rerun counts
// the merged goodput under its objectives, not the original run's.
func TestMergeTakesTheRerunsObjectives(t *testing.T) {
	base := report.Build("original", "run-1", withSLO())
	again := withSLO()
	again.Config.SLO = &analysis.SLO{TTFTSeconds: 1}
	again.Sequential.Records = nil
	again.Concurrent.Records = again.Concurrent.Records[3:4]
	merged := report.Merge(base, report.Build("rerun", "run-2", again))
	if *merged.Config.SLO != *again.Config.SLO || merged.Concurrent.Goodput.Met != 3 || merged.Sequential.Goodput.Met != 4 {
		t.Errorf("merged slo %+v, goodput %+v / %+v", merged.Config.SLO, merged.Sequential.Goodput, merged.Concurrent.Goodput)
	}
}
