package htmlreport_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// TestProbeSection: a probe's page plots effective parallelism and latency
// against concurrency, one point per level and series, with the knee and
// the first 429 marked at their levels; a page that is no probe has none.
func TestProbeSection(t *testing.T) {
	p := testrun.Probe{MaxConcurrency: 4, MaxWait: testrun.DefaultProbeMaxWait}
	in := testrun.ProbeInput(testrun.Input{Model: "test-model", MaxTokens: 10}, p, func(n int) []string { return make([]string, n) }).WithDefaults()
	r := testrun.Result{Config: in, StartedAt: start}
	p1, p2, p4 := record.SweepPass(1), record.SweepPass(2), record.SweepPass(4)
	var four []record.Request
	for i := range 8 {
		four = append(four, rec(p4, i, 20, 21+float64(i/2)))
	}
	four[7] = failed(four[7], 429, "Rate limit reached for requests")
	r.Sweep = []*testrun.PassResult{
		{Pass: p1, Concurrency: 1, Records: []record.Request{rec(p1, 0, 0, 1), rec(p1, 1, 1, 2)}},
		{Pass: p2, Concurrency: 2, Records: []record.Request{rec(p2, 0, 10, 11), rec(p2, 1, 10, 11), rec(p2, 2, 11, 12), rec(p2, 3, 11, 12)}},
		{Pass: p4, Concurrency: 4, Records: four},
	}
	doc := report.Build("probe-id", "run-id", r)
	var b bytes.Buffer
	require.NoError(t, htmlreport.Render(&b, doc, htmlreport.Options{}))
	page := b.String()
	for want, n := range map[string]int{
		`<svg class="chart probe" data-metric="parallelism"`:                    1,
		`<svg class="chart probe" data-metric="latency"`:                        1,
		`data-metric="parallelism" data-series="parallelism" data-concurrency=`: 3,
		`data-metric="latency" data-series="p95" data-concurrency=`:             3,
		`<line class="mark knee" data-concurrency="2"`:                          2,
		`<line class="mark first429" data-concurrency="4"`:                      2,
	} {
		if got := strings.Count(page, want); got != n {
			t.Errorf("%d × %s, want %d", got, want, n)
		}
	}
	if !strings.Contains(page, "Use 2 requests at a time") {
		t.Error("the page lacks the recommendation")
	}
	b.Reset()
	require.NoError(t, htmlreport.Render(&b, build([]record.Request{rec(record.PassSequential, 0, 0, 1)}, []record.Request{rec(record.PassConcurrent, 0, 2, 3)}), htmlreport.Options{}))
	if strings.Contains(b.String(), "chart probe") {
		t.Error("a run that is no probe has a probe chart")
	}
}
