package htmlreport_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

func TestCostSection(t *testing.T) {
	d := build([]record.Request{rec(record.PassSequential, 0, 0, 1)}, []record.Request{rec(record.PassConcurrent, 0, 2, 3)})
	var plain bytes.Buffer
	if err := htmlreport.Render(&plain, d, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "data-cost") {
		t.Error("a document without a cost section shows one")
	}
	usd, max := 0.0012, 0.05
	d.Cost = &report.Cost{ActualUSD: &usd, EstimatedMaxUSD: &max, PromptTokens: 100, CompletionTokens: 200,
		Estimate: &testrun.CostEstimate{Requests: 21, PromptTokens: 500, CompletionTokens: 2100, MaxUSD: &max},
		Prices:   &testrun.Prices{InputPerMillion: 0.1, OutputPerMillion: 0.4, Source: testrun.PriceTableSource}}
	var b bytes.Buffer
	if err := htmlreport.Render(&b, d, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"data-cost", "$0.001200 by the usage the endpoint returned (100 prompt", "200 completion tokens",
		"at most $0.0500 (21 requests", "OpenAI API pricing", testrun.PriceTableDate} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("the HTML lacks %q", s)
		}
	}
}
