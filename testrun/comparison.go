package testrun

import (
	"errors"
	"fmt"
	"time"

	"github.com/llmconc/llmconc/record"
)

// MaxTargets bounds the targets (endpoint × model) of one comparison.
const MaxTargets = 20

// Target states, as TargetState.State has them.
const (
	TargetWaiting = "waiting"
	TargetRunning = "running"
	TargetDone    = "done"
	TargetFailed  = "failed"
	// TargetCarried is a target of a rerun of failed requests that had
	// none: the earlier run's result stands for it, nothing is sent.
	TargetCarried = "carried"
)

// Target is one endpoint and model of a comparison, with what differs
// between the targets' runs.
type Target struct {
	Endpoint string `json:"endpoint"`
	Model    string `json:"model"`
	// Prices and CostEstimate are the target's, as Input has them (they
	// depend on the model).
	Prices       *Prices       `json:"prices,omitempty"`
	CostEstimate *CostEstimate `json:"cost_estimate,omitempty"`
	// Only and RerunOf make the target's run a rerun of the failed
	// requests of run RerunOf (`starter rerun -failed-only` of a
	// comparison), as Input has them.
	Only    map[record.Pass][]int `json:"only,omitempty"`
	RerunOf string                `json:"rerun_of,omitempty"`
	// Carried, when set, is the workflow ID of an earlier run whose result
	// stands for this target: the comparison starts no run for it.
	Carried string `json:"carried,omitempty"`
}

// ComparisonInput configures a comparison: one run (ConcurrencyTest) per
// target, with the same settings.
type ComparisonInput struct {
	// Base holds the settings all targets share, the prompts included;
	// each target's run takes Endpoint, Model, Prices, CostEstimate, Only
	// and RerunOf from its Target instead (see TargetInput).
	Base    Input    `json:"base"`
	Targets []Target `json:"targets"`
	// Parallel runs the targets at once instead of one after another.
	Parallel bool `json:"parallel,omitempty"`
	// SearchAttributes starts the targets' runs with the search attributes
	// of a run (the starter found them registered, and payloads are not
	// encrypted).
	SearchAttributes bool `json:"search_attributes,omitempty"`
	// RerunOf is the workflow ID of the comparison this one reruns, if any.
	RerunOf string `json:"rerun_of,omitempty"`
}

// TargetInput is the input of target i's run.
func (c ComparisonInput) TargetInput(i int) Input {
	t := c.Targets[i]
	in := c.Base
	in.Endpoint, in.Model = t.Endpoint, t.Model
	in.Prices, in.CostEstimate = t.Prices, t.CostEstimate
	in.Only, in.RerunOf = t.Only, t.RerunOf
	return in
}

// Runs counts the targets the comparison starts a run for.
func (c ComparisonInput) Runs() int {
	n := 0
	for _, t := range c.Targets {
		if t.Carried == "" {
			n++
		}
	}
	return n
}

// Validate checks a comparison's input: two targets at least, none twice,
// each target's run valid, and the runs' inputs, which the comparison's
// history records once per run, within the history's bounds.
func (c ComparisonInput) Validate() error {
	if len(c.Targets) < 2 || len(c.Targets) > MaxTargets {
		return fmt.Errorf("a comparison has 2 to %d targets (endpoint × model), got %d", MaxTargets, len(c.Targets))
	}
	if c.Runs() == 0 {
		return errors.New("the comparison has no target to run")
	}
	seen := map[[2]string]bool{}
	for i, t := range c.Targets {
		key := [2]string{t.Endpoint, t.Model}
		if seen[key] {
			return fmt.Errorf("target %s · %s is listed twice", t.Endpoint, t.Model)
		}
		seen[key] = true
		if t.Carried != "" {
			continue
		}
		if err := c.TargetInput(i).Validate(); err != nil {
			return fmt.Errorf("target %s · %s: %w", t.Endpoint, t.Model, err)
		}
	}
	promptBytes := 0
	for _, p := range c.Base.Prompts {
		promptBytes += len(p)
	}
	if promptBytes*c.Runs() > MaxHistoryBytes {
		return fmt.Errorf("the prompts of %d targets' runs add up to %d KiB in the comparison's history, over %d KiB: use fewer or shorter prompts, or fewer targets",
			c.Runs(), promptBytes*c.Runs()>>10, MaxHistoryBytes>>10)
	}
	return nil
}

// ExecutionTimeout bounds the comparison's workflow: its runs' bounds
// added up (one after another) or the longest of them (-parallel-targets),
// and ten minutes more.
func (c ComparisonInput) ExecutionTimeout() time.Duration {
	var sum, longest time.Duration
	for i, t := range c.Targets {
		if t.Carried != "" {
			continue
		}
		d := c.TargetInput(i).WithDefaults().ExecutionTimeout()
		sum, longest = satAddDuration(sum, d), max(longest, d)
	}
	if c.Parallel {
		sum = longest
	}
	return min(satAddDuration(sum, 10*time.Minute), MaxExecutionTimeout)
}

// Estimate adds up the cost estimates of the targets it runs; its MaxUSD is
// nil when a target's is (no price known for its model).
func (c ComparisonInput) Estimate() CostEstimate {
	var sum CostEstimate
	zero := 0.0
	sum.MaxUSD = &zero
	for _, t := range c.Targets {
		if t.Carried != "" || t.CostEstimate == nil {
			continue
		}
		e := *t.CostEstimate
		sum.Requests += e.Requests
		sum.PromptTokens += e.PromptTokens
		sum.CompletionTokens += e.CompletionTokens
		if e.MaxUSD == nil || sum.MaxUSD == nil {
			sum.MaxUSD = nil
			continue
		}
		usd := *sum.MaxUSD + *e.MaxUSD
		sum.MaxUSD = &usd
	}
	return sum
}

// ComparisonResult is what a comparison returns: where each target's run
// is. The runs' results and records are in their own histories.
type ComparisonResult struct {
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Parallel   bool            `json:"parallel,omitempty"`
	Targets    []TargetOutcome `json:"targets"`
	RerunOf    string          `json:"rerun_of,omitempty"`
}

// TargetOutcome is one target's run in a comparison's result.
type TargetOutcome struct {
	Endpoint   string `json:"endpoint"`
	Model      string `json:"model"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id,omitempty"`
	// Carried is set when the run is an earlier comparison's (see
	// Target.Carried).
	Carried bool `json:"carried,omitempty"`
	// Verdict and Speedup are the run's headline (HeadlineOf), also of a
	// run that ended early; empty when it returned no result.
	Verdict string  `json:"verdict,omitempty"`
	Speedup float64 `json:"speedup,omitempty"`
	// Error says why the run failed or ended early, if it did.
	Error string `json:"error,omitempty"`
}

// ComparisonProgress is the answer of a comparison to the progress query.
type ComparisonProgress struct {
	Parallel bool          `json:"parallel,omitempty"`
	Targets  []TargetState `json:"targets"`
}

// TargetState is where one target of a running comparison is.
type TargetState struct {
	Endpoint   string `json:"endpoint"`
	Model      string `json:"model"`
	WorkflowID string `json:"workflow_id"`
	// State is TargetWaiting, TargetRunning, TargetDone, TargetFailed or
	// TargetCarried.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}
