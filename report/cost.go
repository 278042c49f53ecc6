package report

import (
	"fmt"

	"github.com/llmconc/llmconc/testrun"
)

// Cost is the result document's cost section: the upper bound the starter
// estimated before the run, and what the run cost by the usage the endpoint
// returned, at the run's prices.
type Cost struct {
	// EstimatedMaxUSD is the estimate's upper bound; null without prices.
	EstimatedMaxUSD *float64 `json:"estimated_max_usd"`
	// Estimate is what the bound counts: requests, prompt tokens (estimated
	// from the prompts' text) and completion tokens (max_tokens each).
	Estimate *testrun.CostEstimate `json:"estimate,omitempty"`
	// ActualUSD is PromptTokens and CompletionTokens at the prices; null
	// without prices.
	ActualUSD *float64 `json:"actual_usd"`
	// PromptTokens and CompletionTokens add up the usage of every record
	// (every pass, sweep level and the warm-up).
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// WithoutUsage counts the answered requests (HTTP 200) that reported
	// no usage: their tokens are not in the sums.
	WithoutUsage int `json:"requests_without_usage"`
	// Prices are the prices, with their source; null when unknown.
	Prices *testrun.Prices `json:"prices"`
}

// CostOf is the cost section of document d of a run with input in: nil for
// a run started before the starter reckoned costs (neither prices nor an
// estimate in its input).
func CostOf(in testrun.Input, d Document) *Cost {
	if in.Prices == nil && in.CostEstimate == nil {
		return nil
	}
	c := &Cost{Estimate: in.CostEstimate, Prices: in.Prices}
	if in.CostEstimate != nil {
		c.EstimatedMaxUSD = in.CostEstimate.MaxUSD
	}
	for _, p := range d.Passes() {
		for _, r := range p.Requests {
			c.PromptTokens += r.PromptTokens
			c.CompletionTokens += r.CompletionTokens
			if r.HTTPStatus == 200 && r.PromptTokens == 0 && r.CompletionTokens == 0 {
				c.WithoutUsage++
			}
		}
	}
	if d.Warmup != nil {
		for _, r := range d.Warmup.Requests {
			c.PromptTokens += r.PromptTokens
			c.CompletionTokens += r.CompletionTokens
		}
	}
	if in.Prices != nil {
		usd := in.Prices.USD(c.PromptTokens, c.CompletionTokens)
		c.ActualUSD = &usd
	}
	return c
}

// Lines are the cost section in the terminal's words: what the run cost,
// the estimate, and the prices' source.
func (c *Cost) Lines() []string {
	if c == nil {
		return nil
	}
	tokens := fmt.Sprintf("%d prompt + %d completion tokens", c.PromptTokens, c.CompletionTokens)
	var lines []string
	if c.ActualUSD != nil {
		lines = append(lines, fmt.Sprintf("Cost:     %s by the usage the endpoint returned (%s)", testrun.FormatUSD(*c.ActualUSD), tokens))
	} else {
		lines = append(lines, fmt.Sprintf("Usage:    %s (no price known for the model: -price-input and -price-output give one)", tokens))
	}
	if c.WithoutUsage > 0 {
		lines = append(lines, fmt.Sprintf("          %d answered requests reported no usage: their tokens are not counted", c.WithoutUsage))
	}
	if c.Estimate != nil {
		lines = append(lines, "Estimate: "+c.Estimate.String()+", before the run")
	}
	if c.Prices != nil {
		lines = append(lines, fmt.Sprintf("Prices:   $%g input, $%g output per million tokens (%s)", c.Prices.InputPerMillion, c.Prices.OutputPerMillion, c.Prices.Source))
	}
	return lines
}

// Cost prints the cost section, if the document has one.
func (t Text) Cost(c *Cost) {
	lines := c.Lines()
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(t.W, "COST")
	for _, l := range lines {
		fmt.Fprintln(t.W, "  "+l)
	}
	fmt.Fprintln(t.W)
}

// addCost is the cost of two runs, a run and its rerun of failed requests,
// together: tokens, dollars and estimates added (a dollar figure only when
// both have one); the prices are the rerun's. nil when neither has a cost.
func addCost(a, b *Cost) *Cost {
	if a == nil || b == nil {
		if a == nil {
			return b
		}
		return a
	}
	sum := func(x, y *float64) *float64 {
		if x == nil || y == nil {
			return nil
		}
		s := *x + *y
		return &s
	}
	c := &Cost{
		EstimatedMaxUSD:  sum(a.EstimatedMaxUSD, b.EstimatedMaxUSD),
		ActualUSD:        sum(a.ActualUSD, b.ActualUSD),
		PromptTokens:     a.PromptTokens + b.PromptTokens,
		CompletionTokens: a.CompletionTokens + b.CompletionTokens,
		WithoutUsage:     a.WithoutUsage + b.WithoutUsage,
		Prices:           b.Prices,
	}
	if a.Estimate != nil && b.Estimate != nil {
		e := testrun.CostEstimate{
			Requests:         a.Estimate.Requests + b.Estimate.Requests,
			PromptTokens:     a.Estimate.PromptTokens + b.Estimate.PromptTokens,
			CompletionTokens: a.Estimate.CompletionTokens + b.Estimate.CompletionTokens,
			MaxUSD:           sum(a.Estimate.MaxUSD, b.Estimate.MaxUSD),
		}
		c.Estimate = &e
	}
	return c
}
