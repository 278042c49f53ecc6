package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// probeResult is a probe of levels 1, 2 and 4 against a server that
// serves 2 requests at once in 1 s each: level 4 takes 4 s for 8 requests
// (parallelism 2), and its last request is answered 429 with the
// x-ratelimit-* headers.
func probeResult() testrun.Result {
	p := testrun.Probe{MaxConcurrency: 4, MaxWait: testrun.DefaultProbeMaxWait}
	in := testrun.ProbeInput(testrun.Input{Model: "test-model", MaxTokens: 10}, p, func(n int) []string { return make([]string, n) }).WithDefaults()
	r := testrun.Result{Config: in, Probe: &testrun.ProbeOutcome{Stopped: "at concurrency 4 the endpoint served only 1.75 requests at once, under half the level"}}
	level := func(c int, recs ...record.Request) {
		r.Sweep = append(r.Sweep, &testrun.PassResult{Pass: record.SweepPass(c), Concurrency: c, Records: recs})
	}
	p1, p2, p4 := record.SweepPass(1), record.SweepPass(2), record.SweepPass(4)
	level(1, rec(p1, 0, 0, 1), rec(p1, 1, 1, 2))
	level(2, rec(p2, 0, 10, 11), rec(p2, 1, 10, 11), rec(p2, 2, 11, 12), rec(p2, 3, 11, 12))
	var four []record.Request
	for i := range 8 {
		four = append(four, rec(p4, i, 20, 21+float64(i/2)))
	}
	limit, left, tokens := 100, 0, 5000
	four[7].OK, four[7].HTTPStatus, four[7].Error = false, 429, "Rate limit reached for requests"
	four[7].RateLimit = &record.RateLimit{LimitRequests: &limit, RemainingRequests: &left, ResetRequests: "30s", LimitTokens: &tokens}
	level(4, four...)
	return r
}

func TestBuildProbe(t *testing.T) {
	d := report.Build("probe-id", "run-id", probeResult())
	require.NotNil(t, d.Probe)
	p := d.Probe
	require.Len(t, p.Levels, 3)
	assert.InDelta(t, 1.0, p.Levels[0].EffectiveParallelism, 1e-9)
	assert.InDelta(t, 2.0, p.Levels[1].EffectiveParallelism, 1e-9)
	assert.InDelta(t, 7.0/4, p.Levels[2].EffectiveParallelism, 1e-9, "7 successes in 4 s at a baseline of 1 s")
	assert.Equal(t, 2, p.MaxConcurrencyServed)
	assert.Equal(t, 2, p.RecommendedConcurrency)
	require.NotNil(t, p.First429Concurrency)
	assert.Equal(t, 4, *p.First429Concurrency)
	require.NotNil(t, p.Limits.RequestsPerMinute)
	assert.Equal(t, 100, p.Limits.RequestsPerMinute.Value)
	assert.Equal(t, "headers", p.Limits.RequestsPerMinute.Source)
	assert.Equal(t, p.Recommendation, d.Conclusion.Text)
	assert.Equal(t, 4, p.MaxConcurrency)

	b, err := json.Marshal(d)
	require.NoError(t, err)
	var raw struct {
		Probe map[string]json.RawMessage `json:"probe"`
	}
	require.NoError(t, json.Unmarshal(b, &raw))
	for _, k := range []string{"levels", "max_concurrency_served", "knee_concurrency", "first_429_concurrency", "limits", "recommended_concurrency", "recommendation", "stopped"} {
		assert.Contains(t, raw.Probe, k)
	}

	var out bytes.Buffer
	report.Text{W: &out}.ProbeTable(d.Probe)
	text := out.String()
	for _, want := range []string{"PROBE", "← recommended, knee", "← first 429", "Requests per minute:     100 (from the x-ratelimit-limit-* headers)", "Stopped early:", "Recommended concurrency: 2"} {
		assert.Contains(t, text, want)
	}
	assert.Nil(t, report.Build("id", "run", result(4)).Probe, "a run that is no probe has no probe section")
	assert.False(t, strings.Contains(text, "\t"))
}

// With -slo each level has its goodput, the probe its slo, and the
// recommendation stays within the largest level where 95% met it.
func TestBuildProbeSLO(t *testing.T) {
	r := probeResult()
	r.Config.SLO = &analysis.SLO{LatencySeconds: 1}
	d := report.Build("probe-id", "run-id", r)
	p := d.Probe
	require.NotNil(t, p)
	require.NotNil(t, p.SLO)
	var met []string
	for _, l := range p.Levels {
		require.NotNil(t, l.Goodput)
		met = append(met, fmt.Sprintf("%d/%d", l.Goodput.Met, l.Goodput.Total))
	}
	assert.Equal(t, []string{"2/2", "4/4", "2/8"}, met)
	assert.Equal(t, 2, p.RecommendedConcurrency)
	assert.Contains(t, p.Recommendation, "and 2 is within the largest level at which 95% of requests met latency ≤ 1s (2).")

	var out bytes.Buffer
	report.Text{W: &out}.ProbeTable(p)
	for _, want := range []string{"slo met", "      2/8  ← first 429", "Within the SLO up to:    2 (95% of requests met latency ≤ 1s)"} {
		assert.Contains(t, out.String(), want)
	}

	// An objective no request met: no concurrency is recommended.
	r.Config.SLO = &analysis.SLO{LatencySeconds: 0.5}
	p = report.Build("probe-id", "run-id", r).Probe
	assert.Equal(t, 0, p.RecommendedConcurrency)
	assert.Contains(t, p.Recommendation, "no level was (at 1, 0 of 2 met them)")
}

// The settings block of a probe shows its own settings, not a run's.
func TestProbeConfigBlock(t *testing.T) {
	d := report.Build("probe-id", "run-id", probeResult())
	var out bytes.Buffer
	report.Text{W: &out}.ConfigBlock(d.Config)
	text := out.String()
	for _, want := range []string{"  Probe levels:      1 2 4 (stops past the limit)\n", "  Requests per level: twice the level\n", "  Max concurrency:   4\n"} {
		assert.Contains(t, text, want)
	}
	for _, not := range []string{"Passes:", "  Concurrency:", "SLO:"} {
		assert.NotContains(t, text, not)
	}
}
