package testrun

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/llmconc/llmconc/record"
)

// Prices are what a model's tokens cost, in US dollars per million tokens,
// and where those prices come from.
type Prices struct {
	InputPerMillion  float64 `json:"input_usd_per_million_tokens"`
	OutputPerMillion float64 `json:"output_usd_per_million_tokens"`
	// Source is where the prices come from: PriceSourceFlags,
	// PriceSourceSimulator or the built-in table (PriceTableSource).
	Source string `json:"source"`
}

// USD is the cost of promptTokens input and completionTokens output tokens
// at p.
func (p Prices) USD(promptTokens, completionTokens int) float64 {
	return (float64(promptTokens)*p.InputPerMillion + float64(completionTokens)*p.OutputPerMillion) / 1e6
}

// Sources of prices.
const (
	PriceSourceFlags     = "-price-input/-price-output"
	PriceSourceSimulator = "simulator"
)

// PriceTableDate is the date of the built-in price table; PriceTableSource
// names where its prices come from. Prices change: -price-input and
// -price-output override the table.
const (
	PriceTableDate   = "2025-08-07"
	PriceTableSource = "built-in table: OpenAI API pricing, standard tier (https://openai.com/api/pricing), as of " + PriceTableDate
)

// priceTable is OpenAI's standard-tier price of current chat models, USD
// per million tokens (input, output), as of PriceTableDate.
var priceTable = map[string][2]float64{
	"gpt-5":        {1.25, 10.00},
	"gpt-5-mini":   {0.25, 2.00},
	"gpt-5-nano":   {0.05, 0.40},
	"gpt-4.1":      {2.00, 8.00},
	"gpt-4.1-mini": {0.40, 1.60},
	"gpt-4.1-nano": {0.10, 0.40},
	"gpt-4o":       {2.50, 10.00},
	"gpt-4o-mini":  {0.15, 0.60},
	"o3":           {2.00, 8.00},
	"o4-mini":      {1.10, 4.40},
	"o3-mini":      {1.10, 4.40},
}

// datedSuffix is the date of a model snapshot's name (gpt-4.1-nano-2025-04-14).
var datedSuffix = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}$`)

// TablePrices looks model up in the built-in price table: by its name, or
// by the name of a dated snapshot without its date. ok is false for a model
// the table does not have.
func TablePrices(model string) (p Prices, ok bool) {
	m := strings.ToLower(strings.TrimSpace(model))
	pr, ok := priceTable[m]
	if !ok {
		pr, ok = priceTable[datedSuffix.ReplaceAllString(m, "")]
	}
	if !ok {
		return Prices{}, false
	}
	return Prices{InputPerMillion: pr[0], OutputPerMillion: pr[1], Source: PriceTableSource}, true
}

// Token estimate of a prompt: at most promptBytesPerToken bytes of its
// UTF-8 text per token (English text averages about 4 bytes per token in
// OpenAI's tokenizers, so 3 leaves a margin), plus promptFramingTokens for
// the chat message's framing.
const (
	promptBytesPerToken = 3
	promptFramingTokens = 8
	// WarmupPromptTokens bounds the prompt tokens of a warm-up request
	// (workflows.WarmupPrompt is about 70 bytes).
	WarmupPromptTokens = 40
)

// EstimatePromptTokens estimates, from above, the prompt tokens of a chat
// request whose one user message is text.
func EstimatePromptTokens(text string) int {
	return (len(text)+promptBytesPerToken-1)/promptBytesPerToken + promptFramingTokens
}

// CostEstimate bounds what a run can spend, before it is sent.
type CostEstimate struct {
	// Requests is the most requests the run can send: every request of
	// every pass and sweep level, the warm-up, and with -retry backoff
	// every try of every measured request.
	Requests int `json:"requests"`
	// PromptTokens is the estimated prompt tokens of those requests
	// (EstimatePromptTokens) and CompletionTokens their max_tokens.
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// MaxUSD is the upper bound at Prices; nil without prices.
	MaxUSD *float64 `json:"max_usd,omitempty"`
}

// EstimateCost bounds from above what in (with its defaults) can spend at
// prices (nil: unknown, the estimate counts tokens only). Rule: each request
// a pass or sweep level sends counts its prompt's estimated tokens plus
// MaxTokens; with -retry backoff each counts RetryAttempts times (every try
// may be answered and billed); each warm-up request counts
// WarmupPromptTokens plus MaxTokens. A batch that Temporal retries after a
// lost worker may resend requests: that is not bounded here.
func EstimateCost(in Input, prices *Prices) CostEstimate {
	tries := 1
	if in.Retry == RetryBackoff {
		tries = max(in.RetryAttempts, 1)
	}
	var e CostEstimate
	count := func(pass record.Pass) {
		for _, i := range in.Indices(pass) {
			prompt := ""
			if i >= 0 && i < len(in.Prompts) {
				prompt = in.Prompts[i]
			}
			e.Requests += tries
			e.PromptTokens += tries * EstimatePromptTokens(prompt)
			e.CompletionTokens += tries * in.MaxTokens
		}
	}
	if in.RunsSequential() {
		count(record.PassSequential)
	}
	if in.RunsConcurrent() {
		count(record.PassConcurrent)
	}
	for _, level := range in.Sweep {
		count(record.SweepPass(level))
	}
	if in.Only == nil && in.Warmup > 0 {
		e.Requests += in.Warmup
		e.PromptTokens += in.Warmup * WarmupPromptTokens
		e.CompletionTokens += in.Warmup * in.MaxTokens
	}
	if prices != nil {
		usd := prices.USD(e.PromptTokens, e.CompletionTokens)
		e.MaxUSD = &usd
	}
	return e
}

// Times is the estimate of times runs like this one (-repeat).
func (e CostEstimate) Times(times int) CostEstimate {
	e.Requests *= times
	e.PromptTokens *= times
	e.CompletionTokens *= times
	if e.MaxUSD != nil {
		usd := *e.MaxUSD * float64(times)
		e.MaxUSD = &usd
	}
	return e
}

// String is the estimate in one line, for the terminal.
func (e CostEstimate) String() string {
	s := fmt.Sprintf("%d requests, about %d prompt + %d completion tokens", e.Requests, e.PromptTokens, e.CompletionTokens)
	if e.MaxUSD != nil {
		return fmt.Sprintf("at most %s (%s)", FormatUSD(*e.MaxUSD), s)
	}
	return "at most " + s
}

// FormatUSD shows a dollar amount with the precision small amounts need.
func FormatUSD(usd float64) string {
	switch {
	case usd == 0:
		return "$0"
	case usd < 0.01:
		return fmt.Sprintf("$%.6f", usd)
	case usd < 100:
		return fmt.Sprintf("$%.4f", usd)
	}
	return fmt.Sprintf("$%.2f", usd)
}
