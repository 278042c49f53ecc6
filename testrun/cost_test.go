package testrun

import (
	"math"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/record"
)

func TestEstimatePromptTokens(t *testing.T) {
	for _, tt := range []struct {
		text string
		want int
	}{
		{"", 8},
		{"abc", 9},
		{"abcd", 10},
		{strings.Repeat("x", 300), 108},
		{"日本語", 11}, // 9 bytes of UTF-8
	} {
		if got := EstimatePromptTokens(tt.text); got != tt.want {
			t.Errorf("EstimatePromptTokens(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
	// English text averages about 4 bytes per token: the estimate is above
	// the word count the simulator reports (words + 6).
	p := "Explain in two sentences why the sky is blue on a clear day."
	if words := len(strings.Fields(p)) + 6; EstimatePromptTokens(p) < words {
		t.Errorf("estimate %d below the simulator's %d tokens", EstimatePromptTokens(p), words)
	}
}

func TestTablePrices(t *testing.T) {
	for _, tt := range []struct {
		model   string
		ok      bool
		in, out float64
	}{
		{"gpt-4.1-nano", true, 0.10, 0.40},
		{"gpt-4.1-nano-2025-04-14", true, 0.10, 0.40}, // a dated snapshot
		{" GPT-4o-mini ", true, 0.15, 0.60},
		{"gpt-4o-2024-08-06", true, 2.50, 10.00},
		{"gpt-5", true, 1.25, 10.00},
		{"llama-3-70b", false, 0, 0},
		{"gpt-4.1-nano-latest", false, 0, 0},
	} {
		p, ok := TablePrices(tt.model)
		if ok != tt.ok || p.InputPerMillion != tt.in || p.OutputPerMillion != tt.out {
			t.Errorf("TablePrices(%q) = %+v, %v; want %v/%v, %v", tt.model, p, ok, tt.in, tt.out, tt.ok)
		}
		if ok && (p.Source != PriceTableSource || !strings.Contains(p.Source, PriceTableDate) || !strings.Contains(p.Source, "openai.com")) {
			t.Errorf("TablePrices(%q) source %q: want the dated table and its source", tt.model, p.Source)
		}
	}
}

func estimateInput(requests int, prompt string) Input {
	in := Input{Requests: requests, Model: "m", MaxTokens: 100}
	for range requests {
		in.Prompts = append(in.Prompts, prompt)
	}
	return in.WithDefaults()
}

func TestEstimateCost(t *testing.T) {
	prompt := strings.Repeat("x", 30) // 10 + 8 = 18 tokens
	prices := &Prices{InputPerMillion: 1, OutputPerMillion: 2}
	for _, tt := range []struct {
		name     string
		in       func(Input) Input
		requests int
	}{
		{"both passes", func(in Input) Input { return in }, 20},
		{"one pass", func(in Input) Input { in.Passes = PassesConcurrent; return in }, 10},
		{"warm-up", func(in Input) Input { in.Warmup = 2; return in }, 22},
		{"sweep", func(in Input) Input { in.Passes, in.Sweep = PassesSweep, []int{1, 2, 4}; return in }, 30},
		{"retries", func(in Input) Input { in.Retry, in.RetryAttempts = RetryBackoff, 5; return in }, 100},
		{"rerun of failed", func(in Input) Input {
			in.Warmup, in.Only = 1, map[record.Pass][]int{record.PassSequential: {1, 3}}
			return in
		}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in(estimateInput(10, prompt))
			e := EstimateCost(in, prices)
			warm := 0
			if in.Only == nil {
				warm = in.Warmup
			}
			measured := tt.requests - warm
			wantPrompt := measured*18 + warm*WarmupPromptTokens
			wantCompletion := tt.requests * 100
			if e.Requests != tt.requests || e.PromptTokens != wantPrompt || e.CompletionTokens != wantCompletion {
				t.Errorf("estimate %+v, want %d requests, %d prompt and %d completion tokens", e, tt.requests, wantPrompt, wantCompletion)
			}
			wantUSD := (float64(wantPrompt)*1 + float64(wantCompletion)*2) / 1e6
			if e.MaxUSD == nil || math.Abs(*e.MaxUSD-wantUSD) > 1e-12 {
				t.Errorf("max USD %v, want %v", e.MaxUSD, wantUSD)
			}
		})
	}
	if e := EstimateCost(estimateInput(10, prompt), nil); e.MaxUSD != nil || e.CompletionTokens != 2000 {
		t.Errorf("without prices: %+v, want tokens only", e)
	}
	if e := EstimateCost(estimateInput(10, prompt), nil); !strings.HasPrefix(e.String(), "at most 20 requests") {
		t.Errorf("without prices the estimate says %q", e)
	}
}

func TestEstimateTimes(t *testing.T) {
	e := EstimateCost(estimateInput(5, "hi"), &Prices{InputPerMillion: 1, OutputPerMillion: 1})
	three := e.Times(3)
	if three.Requests != 3*e.Requests || three.CompletionTokens != 3*e.CompletionTokens || math.Abs(*three.MaxUSD-3**e.MaxUSD) > 1e-12 {
		t.Errorf("Times(3) = %+v of %+v", three, e)
	}
	if *e.MaxUSD == *three.MaxUSD {
		t.Error("Times changed its receiver's MaxUSD")
	}
}

func TestFormatUSD(t *testing.T) {
	for usd, want := range map[float64]string{0: "$0", 0.0001234: "$0.000123", 0.5: "$0.5000", 12.345: "$12.3450", 1234.5: "$1234.50"} {
		if got := FormatUSD(usd); got != want {
			t.Errorf("FormatUSD(%v) = %q, want %q", usd, got, want)
		}
	}
}
