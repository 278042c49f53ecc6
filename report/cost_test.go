package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

func costResult(in testrun.Input) testrun.Result {
	rec := func(pass record.Pass, i, status, prompt, completion int) record.Request {
		return record.Request{Index: i, Pass: pass, OK: status == 200, HTTPStatus: status, Attempt: 1, PromptTokens: prompt, CompletionTokens: completion}
	}
	return testrun.Result{
		Config: in,
		Sequential: &testrun.PassResult{Pass: record.PassSequential, Records: []record.Request{
			rec(record.PassSequential, 0, 200, 10, 100), rec(record.PassSequential, 1, 200, 12, 90)}},
		Concurrent: &testrun.PassResult{Pass: record.PassConcurrent, Records: []record.Request{
			rec(record.PassConcurrent, 0, 200, 10, 80), rec(record.PassConcurrent, 1, 429, 0, 0), rec(record.PassConcurrent, 2, 200, 0, 0)}},
		Warmup: &testrun.PassResult{Pass: record.PassWarmup, Records: []record.Request{rec(record.PassWarmup, 0, 200, 20, 16)}},
	}
}

func TestCostOf(t *testing.T) {
	prices := &testrun.Prices{InputPerMillion: 2, OutputPerMillion: 8, Source: testrun.PriceSourceFlags}
	max := 0.01
	in := testrun.Input{Requests: 3, Model: "m", Concurrency: 3, Passes: testrun.PassesBoth, Prices: prices,
		CostEstimate: &testrun.CostEstimate{Requests: 7, PromptTokens: 200, CompletionTokens: 700, MaxUSD: &max}}
	d := Build("wf", "run", costResult(in))
	c := d.Cost
	if c == nil {
		t.Fatal("no cost section")
	}
	if c.PromptTokens != 52 || c.CompletionTokens != 286 || c.WithoutUsage != 1 {
		t.Errorf("tokens %d + %d, %d without usage; want 52 + 286, 1 (the 200 without usage; not the 429)", c.PromptTokens, c.CompletionTokens, c.WithoutUsage)
	}
	want := (52*2 + 286*8) / 1e6
	if c.ActualUSD == nil || math.Abs(*c.ActualUSD-want) > 1e-12 {
		t.Errorf("actual_usd %v, want %v", c.ActualUSD, want)
	}
	if c.EstimatedMaxUSD == nil || *c.EstimatedMaxUSD != max || c.Prices != prices {
		t.Errorf("estimated_max_usd %v, prices %+v", c.EstimatedMaxUSD, c.Prices)
	}
	var b bytes.Buffer
	Text{W: &b}.Cost(c)
	for _, s := range []string{"COST", "$0.002392 by the usage the endpoint returned (52 prompt + 286 completion tokens)",
		"1 answered requests reported no usage", "Estimate: at most $0.0100 (7 requests", "$2 input, $8 output per million tokens (-price-input/-price-output)"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("the terminal's cost section lacks %q:\n%s", s, b.String())
		}
	}
	var jb bytes.Buffer
	if err := EncodeJSON(&jb, d); err != nil {
		t.Fatal(err)
	}
	enc := jb.String()
	for _, s := range []string{`"cost": {`, `"estimated_max_usd": 0.01`, `"actual_usd": 0.002392`, `"prompt_tokens": 52`, `"completion_tokens": 286`, `"source": "-price-input/-price-output"`} {
		if !strings.Contains(enc, s) {
			t.Errorf("the JSON lacks %s", s)
		}
	}
}

func TestCostOfWithoutPrices(t *testing.T) {
	in := testrun.Input{Requests: 3, Model: "llama", Concurrency: 3, Passes: testrun.PassesBoth,
		CostEstimate: &testrun.CostEstimate{Requests: 7, PromptTokens: 200, CompletionTokens: 700}}
	c := Build("wf", "run", costResult(in)).Cost
	if c == nil || c.ActualUSD != nil || c.EstimatedMaxUSD != nil || c.Prices != nil || c.PromptTokens != 52 {
		t.Fatalf("cost %+v: want tokens without dollars", c)
	}
	if l := strings.Join(c.Lines(), "\n"); !strings.Contains(l, "no price known") || strings.Contains(l, "Cost:") {
		t.Errorf("lines %q", l)
	}
	// A run started before costs were reckoned has no cost section.
	in.CostEstimate = nil
	if c := Build("wf", "run", costResult(in)).Cost; c != nil {
		t.Errorf("cost %+v for a run without prices or estimate", c)
	}
}

func TestCostOfMergedRerun(t *testing.T) {
	prices := &testrun.Prices{InputPerMillion: 1, OutputPerMillion: 1, Source: testrun.PriceSourceFlags}
	max := 0.01
	in := testrun.Input{Requests: 3, Model: "m", Concurrency: 3, Passes: testrun.PassesBoth, Prices: prices,
		CostEstimate: &testrun.CostEstimate{Requests: 7, PromptTokens: 200, CompletionTokens: 700, MaxUSD: &max}}
	base := Build("wf", "run", costResult(in))
	rerun := Build("wf2", "run2", costResult(in))
	m := Merge(base, rerun).Cost
	if m.PromptTokens != 2*base.Cost.PromptTokens || m.CompletionTokens != 2*base.Cost.CompletionTokens ||
		*m.ActualUSD != 2**base.Cost.ActualUSD || *m.EstimatedMaxUSD != 2*max || m.Estimate.Requests != 14 {
		t.Errorf("merged cost %+v, want both runs' added", m)
	}
	if Merge(Document{}, Document{}).Cost != nil {
		t.Error("a merge of documents without cost has one")
	}
}
