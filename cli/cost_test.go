package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// costInput is the input of the flags args, with its prices and estimate.
func costInput(t *testing.T, args ...string) (options, testrun.Input) {
	t.Helper()
	o, err := parseFlags(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.plan(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return o, p.in
}

func TestCostPricesFromTableAndFlags(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("LLMCONC_ENDPOINTS", "")
	for _, tt := range []struct {
		name    string
		args    []string
		in, out float64
		source  string
		none    bool
	}{
		{"table", []string{"-model", "gpt-4.1-mini"}, 0.40, 1.60, testrun.PriceTableSource, false},
		{"dated snapshot", []string{"-model", "gpt-4.1-mini-2025-04-14"}, 0.40, 1.60, testrun.PriceTableSource, false},
		{"flags override", []string{"-model", "gpt-4.1-mini", "-price-input", "3", "-price-output", "7"}, 3, 7, testrun.PriceSourceFlags, false},
		{"one flag overrides one price", []string{"-model", "gpt-4.1-mini", "-price-output", "7"}, 0.40, 7, "-price-output; input: " + testrun.PriceTableSource, false},
		{"unknown model, flags", []string{"-model", "llama", "-price-input", "0.5", "-price-output", "1"}, 0.5, 1, testrun.PriceSourceFlags, false},
		{"unknown model", []string{"-model", "llama"}, 0, 0, "", true},
		{"simulator of -dev", []string{"-dev", "-model", "gpt-4.1"}, 0, 0, testrun.PriceSourceSimulator, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, in := costInput(t, append(tt.args, "-out", t.TempDir()+"/r.json")...)
			if in.CostEstimate == nil {
				t.Fatal("no cost estimate in the input")
			}
			if tt.none {
				if in.Prices != nil || in.CostEstimate.MaxUSD != nil {
					t.Errorf("prices %+v, estimate %+v: want tokens only", in.Prices, in.CostEstimate)
				}
				return
			}
			p := in.Prices
			if p == nil || p.InputPerMillion != tt.in || p.OutputPerMillion != tt.out || p.Source != tt.source {
				t.Fatalf("prices %+v, want %v/%v from %q", p, tt.in, tt.out, tt.source)
			}
			if want := p.USD(in.CostEstimate.PromptTokens, in.CostEstimate.CompletionTokens); *in.CostEstimate.MaxUSD != want {
				t.Errorf("estimate $%v, want $%v", *in.CostEstimate.MaxUSD, want)
			}
		})
	}
}

func TestCostFlagErrors(t *testing.T) {
	isolate(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "llama", "-price-input", "1"}, "not in the built-in price table: give both -price-input and -price-output"},
		{[]string{"-price-input", "-1"}, "want a number of US dollars"},
		{[]string{"-max-cost", "lots"}, "want a number of US dollars"},
		{[]string{"-model", "llama", "-max-cost", "5"}, "-max-cost $5 cannot be checked: no price is known"},
		{[]string{"-requests", "50", "-max-cost", "0.001"}, "over -max-cost $0.001: nothing was sent"},
	} {
		code, _, stderr := runMain(t, append(tt.args, "-out", t.TempDir()+"/r.json")...)
		if code != ExitBadInput {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, ExitBadInput, stderr)
			continue
		}
		if line := oneErrorLine(t, stderr); !strings.Contains(line, tt.want) {
			t.Errorf("%v: %q, want it to say %q", tt.args, line, tt.want)
		}
	}
}

func TestCostApprove(t *testing.T) {
	dear := testrun.Input{Model: "gpt-4.1", Prices: &testrun.Prices{InputPerMillion: 2, OutputPerMillion: 8, Source: testrun.PriceTableSource}}
	usd := 3.0
	dear.CostEstimate = &testrun.CostEstimate{Requests: 1000, PromptTokens: 100000, CompletionTokens: 350000, MaxUSD: &usd}
	cheap := dear
	cheapUSD := 0.5
	cheap.CostEstimate = &testrun.CostEstimate{Requests: 10, MaxUSD: &cheapUSD}
	unknown := testrun.Input{Model: "llama", CostEstimate: &testrun.CostEstimate{Requests: 10, CompletionTokens: 1000}}
	for _, tt := range []struct {
		name     string
		c        costOptions
		in       testrun.Input
		times    int
		terminal bool
		answer   string
		ok       bool
		want     string // in the error, or in the question
	}{
		{"cheap, no terminal", costOptions{}, cheap, 1, false, "", true, ""},
		{"cheap repeated past $1", costOptions{}, cheap, 3, false, "", false, "could cost up to $1.5000, over $1"},
		{"dear, no terminal", costOptions{}, dear, 1, false, "", false, "give -yes to run it, or -max-cost"},
		{"dear, -yes", costOptions{yes: true}, dear, 1, false, "", true, ""},
		{"dear, under -max-cost", costOptions{maxCost: usdFlag{5, true}}, dear, 1, false, "", true, ""},
		{"dear, over -max-cost", costOptions{maxCost: usdFlag{2, true}}, dear, 1, false, "", false, "over -max-cost $2"},
		{"dear, over -max-cost, -yes", costOptions{maxCost: usdFlag{2, true}, yes: true}, dear, 1, true, "y\n", false, "over -max-cost $2"},
		{"dear, terminal says yes", costOptions{}, dear, 1, true, "yes\n", true, "Send it? [y/N]"},
		{"dear, terminal says y", costOptions{}, dear, 1, true, " Y \n", true, "Send it? [y/N]"},
		{"dear, terminal says no", costOptions{}, dear, 1, true, "n\n", false, "not confirmed"},
		{"dear, terminal closed", costOptions{}, dear, 1, true, "", false, "not confirmed"},
		{"unknown price", costOptions{}, unknown, 1, false, "", true, ""},
		{"unknown price, -max-cost", costOptions{maxCost: usdFlag{1, true}}, unknown, 1, false, "", false, "cannot be checked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ask bytes.Buffer
			err := tt.c.approve(tt.in, tt.times, &ask, strings.NewReader(tt.answer), tt.terminal)
			if (err == nil) != tt.ok {
				t.Fatalf("approve: %v, want ok %v", err, tt.ok)
			}
			if err != nil && (ExitCode(err) != ExitBadInput || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("error %q (exit %d), want exit 2 and %q", err, ExitCode(err), tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "nothing was sent") {
				t.Errorf("error %q does not say that nothing was sent", err)
			}
			if tt.terminal && tt.ok && !strings.Contains(ask.String(), tt.want) {
				t.Errorf("question %q, want %q", ask.String(), tt.want)
			}
			if !tt.terminal && ask.Len() > 0 {
				t.Errorf("asked %q without a terminal", ask.String())
			}
		})
	}
}

func TestCostLine(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("LLMCONC_ENDPOINTS", "")
	_, sim := costInput(t, "-dev", "-requests", "5", "-out", t.TempDir()+"/r.json")
	if got := costLine(sim, *sim.CostEstimate, 1); !strings.Contains(got, "$0, the built-in simulator is free") {
		t.Errorf("simulator: %q", got)
	}
	_, in := costInput(t, "-requests", "5", "-out", t.TempDir()+"/r.json")
	got := costLine(in, in.CostEstimate.Times(2), 2)
	for _, want := range []string{"for 2 runs", "at most $", "22 requests", "$0.1 input and $0.4 output", testrun.PriceTableDate, "openai.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	_, in = costInput(t, "-model", "llama", "-out", t.TempDir()+"/r.json")
	if got := costLine(in, *in.CostEstimate, 1); strings.Contains(got, "$") || !strings.Contains(got, "no price known") {
		t.Errorf("unknown model: %q", got)
	}
}

// The estimate's bound on a warm-up prompt holds for the workflow's.
func TestWarmupPromptTokensBound(t *testing.T) {
	for k := range testrun.MaxWarmup {
		if n := testrun.EstimatePromptTokens(workflows.WarmupPrompt(k)); n > testrun.WarmupPromptTokens {
			t.Errorf("warm-up prompt %d: about %d tokens, over the bound %d", k, n, testrun.WarmupPromptTokens)
		}
	}
}

// The -dev simulator is free: however large the run, it never asks.
func TestCostDevSimulatorNeverAsks(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("LLMCONC_ENDPOINTS", "")
	o, in := costInput(t, "-dev", "-model", "gpt-4.1", "-passes", "concurrent", "-requests", "2000", "-max-tokens", "1000", "-out", t.TempDir()+"/r.json")
	if in.CostEstimate.MaxUSD == nil || *in.CostEstimate.MaxUSD != 0 {
		t.Fatalf("estimate %+v, want $0", in.CostEstimate)
	}
	var ask bytes.Buffer
	if err := o.cost.approve(in, 1, &ask, strings.NewReader(""), true); err != nil || ask.Len() > 0 {
		t.Errorf("approve: %v, asked %q; want neither", err, ask.String())
	}
	// The same run against a key would ask.
	_, real := costInput(t, "-model", "gpt-4.1", "-passes", "concurrent", "-requests", "2000", "-max-tokens", "1000", "-out", t.TempDir()+"/r.json")
	if err := o.cost.approve(real, 1, &ask, strings.NewReader(""), false); err == nil {
		t.Error("a $24 run without -yes or -max-cost was not refused")
	}
}

func TestRerunCost(t *testing.T) {
	in := estimateRerunInput()
	// Prices recorded with the original run stay; only the failed
	// requests are counted.
	in.Prices = &testrun.Prices{InputPerMillion: 1, OutputPerMillion: 1, Source: testrun.PriceSourceFlags}
	in.Only = map[record.Pass][]int{record.PassConcurrent: {0, 2}}
	var ask bytes.Buffer
	if err := (costOptions{}).rerunCost(&in, false, &ask); err != nil {
		t.Fatal(err)
	}
	if in.CostEstimate.Requests != 2 || in.Prices.Source != testrun.PriceSourceFlags {
		t.Errorf("estimate %+v, prices %+v; want 2 requests at the original's prices", in.CostEstimate, in.Prices)
	}
	// A run recorded without prices gets the table's.
	in = estimateRerunInput()
	if err := (costOptions{}).rerunCost(&in, false, &ask); err != nil || in.Prices == nil || in.Prices.Source != testrun.PriceTableSource {
		t.Errorf("rerunCost: %v, prices %+v; want the table's", err, in.Prices)
	}
	if err := (costOptions{maxCost: usdFlag{0, true}}).rerunCost(&in, false, &ask); err == nil || ExitCode(err) != ExitBadInput {
		t.Errorf("rerun over -max-cost 0: %v, want refused", err)
	}
	in = estimateRerunInput()
	if err := (costOptions{maxCost: usdFlag{0, true}}).rerunCost(&in, true, &ask); err != nil || in.Prices.Source != testrun.PriceSourceSimulator {
		t.Errorf("rerun on the simulator: %v, prices %+v; want free", err, in.Prices)
	}
}

func estimateRerunInput() testrun.Input {
	in := testrun.Input{Requests: 4, Model: "gpt-4.1-nano", Prompts: []string{"a", "b", "c", "d"}}
	return in.WithDefaults()
}

// A probe over -max-cost is refused before it connects to anything.
func TestProbeMaxCost(t *testing.T) {
	isolate(t)
	code, stdout, stderr := runMain(t, "probe", "-max-concurrency", "8", "-max-cost", "0.0001", "-out", t.TempDir()+"/r.json")
	if code != ExitBadInput || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, stdout)
	}
	// Levels 1, 2, 4, 8 of twice the level, and the warm-up: 31 requests.
	line := oneErrorLine(t, stderr)
	if !strings.Contains(line, "(31 requests,") || !strings.Contains(line, "over -max-cost $0.0001") {
		t.Errorf("refusal %q", line)
	}
	// The probe has no -requests: the refusal names the probe's flags.
	if !strings.Contains(line, "lower -max-concurrency, -requests-per-level or -max-tokens, or raise -max-cost") || strings.Contains(line, "-requests ") {
		t.Errorf("refusal %q does not name the probe's flags", line)
	}
}

// A probe's -slo is read as a run's is, and refused the same way before
// anything is sent.
func TestProbeSLOFlag(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-slo", "ttft=fast"}, "not a duration"},
		{[]string{"-slo", "speed=1s"}, "unknown objective"},
		{[]string{"-slo", "ttft=500ms", "-stream=false"}, "streamed responses only"},
	} {
		args := append([]string{"probe", "-max-concurrency", "4", "-out", t.TempDir() + "/r.json"}, tc.args...)
		code, stdout, stderr := runMain(t, args...)
		if code != ExitBadInput || stdout != "" {
			t.Fatalf("%v: exit %d, stdout %q; want 2 and nothing", tc.args, code, stdout)
		}
		if line := oneErrorLine(t, stderr); !strings.Contains(line, tc.want) {
			t.Errorf("%v: refusal %q lacks %q", tc.args, line, tc.want)
		}
	}
	// A good -slo is recorded in the probe's input, for `starter result`.
	var c probeCmd
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	c.define(fs)
	if err := fs.Parse([]string{"-max-concurrency", "4", "-slo", "ttft=500ms,latency=5s", "-out", t.TempDir() + "/r.json"}); err != nil {
		t.Fatal(err)
	}
	if err := c.check(fs.Args()); err != nil {
		t.Fatal(err)
	}
	if c.in.SLO == nil || c.in.SLO.TTFTSeconds != 0.5 || c.in.SLO.LatencySeconds != 5 || c.in.Probe == nil {
		t.Errorf("input's SLO %+v, probe %+v", c.in.SLO, c.in.Probe)
	}
}
