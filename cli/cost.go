package cli

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// ConfirmAboveUSD is the estimate above which a run without -max-cost
// asks for confirmation (or -yes).
const ConfirmAboveUSD = 1.0

// usdFlag is a float flag that knows whether it was given.
type usdFlag struct {
	v   float64
	set bool
}

func (f *usdFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.FormatFloat(f.v, 'g', -1, 64)
}

func (f *usdFlag) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("want a number of US dollars, at least 0")
	}
	f.v, f.set = v, true
	return nil
}

// costOptions are the flags of a run's cost: its prices, a cap, and the
// confirmation.
type costOptions struct {
	priceInput, priceOutput usdFlag
	maxCost                 usdFlag
	yes                     bool
}

// define registers the price flags and the guards.
func (c *costOptions) define(fs *flag.FlagSet) {
	fs.Var(&c.priceInput, "price-input", "USD per million input (prompt) tokens, for the cost estimate (default: the built-in table of "+testrun.PriceTableDate+", for the models it has)")
	fs.Var(&c.priceOutput, "price-output", "USD per million output (completion) tokens, for the cost estimate (default: the built-in table)")
	c.defineGuards(fs)
}

// defineGuards registers -max-cost and -yes.
func (c *costOptions) defineGuards(fs *flag.FlagSet) {
	fs.Var(&c.maxCost, "max-cost", "refuse (exit 2, nothing sent) a run whose estimated upper bound of cost is over this many USD")
	fs.BoolVar(&c.yes, "yes", false, fmt.Sprintf("do not ask for confirmation of a run estimated at over $%g", ConfirmAboveUSD))
}

// prices resolves the prices of model: free for the -dev simulator, else
// the built-in table's with the flags overriding them; nil when unknown.
func (c costOptions) prices(model string, simulated bool) (*testrun.Prices, error) {
	if simulated {
		return &testrun.Prices{Source: testrun.PriceSourceSimulator}, nil
	}
	p, known := testrun.TablePrices(model)
	switch {
	case c.priceInput.set && c.priceOutput.set:
		return &testrun.Prices{InputPerMillion: c.priceInput.v, OutputPerMillion: c.priceOutput.v, Source: testrun.PriceSourceFlags}, nil
	case !c.priceInput.set && !c.priceOutput.set:
		if !known {
			return nil, nil
		}
		return &p, nil
	case !known:
		return nil, badInput("model %q is not in the built-in price table: give both -price-input and -price-output", model)
	case c.priceInput.set:
		p.InputPerMillion, p.Source = c.priceInput.v, "-price-input; output: "+p.Source
	default:
		p.OutputPerMillion, p.Source = c.priceOutput.v, "-price-output; input: "+p.Source
	}
	return &p, nil
}

// withCost sets the run's prices and its cost estimate.
func (c costOptions) withCost(in testrun.Input, simulated bool) (testrun.Input, error) {
	p, err := c.prices(in.Model, simulated)
	if err != nil {
		return in, err
	}
	in.Prices = p
	est := testrun.EstimateCost(in.WithDefaults(), p)
	in.CostEstimate = &est
	return in, nil
}

// costGate decides, before anything starts, whether the new run (none
// with -attach) may be sent; a question goes to stderr, the answer comes
// from stdin when it is a terminal.
func (o options) costGate(in testrun.Input, stderr io.Writer) error {
	if o.attach != "" {
		return nil
	}
	return o.cost.approve(in, o.repeat, stderr, os.Stdin, interactive())
}

// showCost prints the new run's estimate (none with -attach).
func (o options) showCost(in testrun.Input, human io.Writer) {
	if o.attach == "" && in.CostEstimate != nil {
		fmt.Fprintln(human, costLine(in, in.CostEstimate.Times(max(o.repeat, 1)), o.repeat))
	}
}

// approve decides whether times runs of in may be sent: refused over
// -max-cost (or with -max-cost and no price), and over ConfirmAboveUSD
// without -max-cost or -yes unless the person at the terminal (answers,
// when terminal) says yes. ask gets the question. The errors give the
// estimate; showCost prints it for a run that goes ahead.
func (c costOptions) approve(in testrun.Input, times int, ask io.Writer, answers io.Reader, terminal bool) error {
	if in.CostEstimate == nil {
		return nil
	}
	w := costWords{
		nothing:  "nothing was sent",
		could:    "the run could cost",
		lower:    "-requests or -max-tokens",
		yes:      "give -yes to run it, or -max-cost USD to cap it",
		question: "The run could cost up to %s. Send it? [y/N] ",
	}
	if in.Probe != nil {
		w.lower = "-max-concurrency, -requests-per-level or -max-tokens"
	}
	return c.approveEstimate(in.CostEstimate.Times(max(times, 1)), in.Model, w, ask, answers, terminal)
}

// costWords are what approveEstimate says of what it approves: a run, or
// a schedule's runs.
type costWords struct {
	nothing  string // what did not happen on a refusal
	could    string // "the run could cost"
	lower    string // the flags that lower the estimate
	yes      string // how to go ahead without a terminal
	question string // the terminal's question, with %s for the estimate
}

// approveEstimate is approve's decision on the estimate est of model,
// worded by w.
func (c costOptions) approveEstimate(est testrun.CostEstimate, model string, w costWords, ask io.Writer, answers io.Reader, terminal bool) error {
	switch {
	case c.maxCost.set && est.MaxUSD == nil:
		return badInput("-max-cost $%g cannot be checked: no price is known for model %q (give -price-input and -price-output); %s", c.maxCost.v, model, w.nothing)
	case c.maxCost.set && *est.MaxUSD > c.maxCost.v:
		return badInput("%s up to %s (%d requests, about %d tokens), over -max-cost $%g: %s; lower %s, or raise -max-cost",
			w.could, testrun.FormatUSD(*est.MaxUSD), est.Requests, est.PromptTokens+est.CompletionTokens, c.maxCost.v, w.nothing, w.lower)
	case c.maxCost.set || c.yes || est.MaxUSD == nil || *est.MaxUSD <= ConfirmAboveUSD:
		return nil
	case !terminal:
		return badInput("%s up to %s, over $%g: %s; %s (stdin is not a terminal to ask on)",
			w.could, testrun.FormatUSD(*est.MaxUSD), ConfirmAboveUSD, w.nothing, w.yes)
	}
	fmt.Fprintf(ask, w.question, testrun.FormatUSD(*est.MaxUSD))
	line, _ := bufio.NewReader(answers).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return badInput("not confirmed: %s", w.nothing)
}

// costLine is the estimate as the starter shows it before a run.
func costLine(in testrun.Input, est testrun.CostEstimate, times int) string {
	runs := ""
	if times > 1 {
		runs = fmt.Sprintf(" for %d runs", times)
	}
	switch {
	case in.Prices != nil && in.Prices.Source == testrun.PriceSourceSimulator:
		return fmt.Sprintf("Cost estimate%s: $0, the built-in simulator is free (%d requests at most).", runs, est.Requests)
	case in.Prices == nil:
		return fmt.Sprintf("Cost estimate%s: %s; no price known for model %q: -price-input and -price-output give one.", runs, est, in.Model)
	}
	return fmt.Sprintf("Cost estimate%s: %s, at $%g input and $%g output per million tokens (%s).",
		runs, est, in.Prices.InputPerMillion, in.Prices.OutputPerMillion, in.Prices.Source)
}

// devSimulated reports whether a -dev run on endpoint goes to the built-in
// simulator: no key in the environment for the default endpoint (see
// devEnv.serve).
func devSimulated(o options, endpoint string) bool {
	if !o.dev {
		return false
	}
	cfg, err := devWorkerConfig(o)
	return err == nil && cfg.APIKey == "" && (endpoint == "" || endpoint == record.DefaultEndpoint)
}

// rerunCost prices a rerun (its original's prices, else the built-in
// table's, else free for the -dev simulator), estimates it anew (a rerun
// of failed requests sends only those), and decides whether it may be
// sent, as approve does.
func (c costOptions) rerunCost(in *testrun.Input, simulated bool, stderr io.Writer) error {
	priceRerun(in, simulated)
	return c.approve(*in, 1, stderr, os.Stdin, interactive())
}

// priceRerun prices a rerun and estimates it anew, as rerunCost says.
func priceRerun(in *testrun.Input, simulated bool) {
	switch {
	case simulated:
		in.Prices = &testrun.Prices{Source: testrun.PriceSourceSimulator}
	case in.Prices == nil:
		if p, ok := testrun.TablePrices(in.Model); ok {
			in.Prices = &p
		}
	}
	est := testrun.EstimateCost(in.WithDefaults(), in.Prices)
	in.CostEstimate = &est
}

// printCost prints the estimate of one run of in, if it has one.
func printCost(w io.Writer, in testrun.Input) {
	if in.CostEstimate != nil {
		fmt.Fprintln(w, costLine(in, *in.CostEstimate, 1))
	}
}
