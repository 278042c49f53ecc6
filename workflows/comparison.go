package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/testrun"
)

// ComparisonWorkflowName is the registered name of ConcurrencyComparison.
const ComparisonWorkflowName = "ConcurrencyComparison"

// comparison is what ConcurrencyComparison knows as it goes, shared with
// its progress query.
type comparison struct {
	in       testrun.ComparisonInput
	parentID string
	result   testrun.ComparisonResult
	states   []testrun.TargetState
}

// ConcurrencyComparison is the workflow of a comparison (`-endpoint a,b`
// and/or `-model x,y`): it starts one child ConcurrencyTest per target, one
// after another (so that they do not disturb each other) or, with
// in.Parallel, all at once, and returns where each one's result is. A child
// that fails or ends early does not stop the others: its outcome says so.
// The child workflow IDs derive from the comparison's (TargetWorkflowID).
func ConcurrencyComparison(ctx workflow.Context, in testrun.ComparisonInput) (testrun.ComparisonResult, error) {
	if err := checkComparison(ctx, in); err != nil {
		return testrun.ComparisonResult{}, temporal.NewNonRetryableApplicationError(err.Error(), InvalidInputErrorType, nil)
	}
	c := newComparison(ctx, in)
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, c.query); err != nil {
		return testrun.ComparisonResult{}, fmt.Errorf("register the progress query: %w", err)
	}
	c.details(ctx)
	if in.Parallel {
		c.parallel(ctx)
	} else {
		c.sequential(ctx)
	}
	c.result.FinishedAt = workflow.Now(ctx)
	c.details(ctx)
	if cancelled(ctx) {
		return endCancelled(c.result)
	}
	return c.result, nil
}

// checkComparison checks the input as a side effect, recorded when the
// comparison starts (as checkInput does for a run).
func checkComparison(ctx workflow.Context, in testrun.ComparisonInput) error {
	var problem string
	check := workflow.SideEffect(ctx, func(workflow.Context) any {
		if err := in.Validate(); err != nil {
			return err.Error()
		}
		return ""
	})
	if err := check.Get(&problem); err != nil {
		return fmt.Errorf("read the check of the input: %w", err)
	}
	if problem != "" {
		return errors.New(problem)
	}
	return nil
}

// newComparison is the state of a comparison that starts now.
func newComparison(ctx workflow.Context, in testrun.ComparisonInput) *comparison {
	c := &comparison{in: in, parentID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	c.result = testrun.ComparisonResult{StartedAt: workflow.Now(ctx), Parallel: in.Parallel, RerunOf: in.RerunOf}
	for i, t := range in.Targets {
		o := testrun.TargetOutcome{Endpoint: t.Endpoint, Model: t.Model, WorkflowID: TargetWorkflowID(c.parentID, i, t)}
		s := testrun.TargetState{Endpoint: t.Endpoint, Model: t.Model, WorkflowID: o.WorkflowID, State: testrun.TargetWaiting}
		if t.Carried != "" {
			o.WorkflowID, o.Carried = t.Carried, true
			s.WorkflowID, s.State = t.Carried, testrun.TargetCarried
		}
		c.result.Targets = append(c.result.Targets, o)
		c.states = append(c.states, s)
	}
	return c
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// TargetWorkflowID is the workflow ID of target i's run in the comparison
// parentID: parentID-t<i+1>-<endpoint>-<model>.
func TargetWorkflowID(parentID string, i int, t testrun.Target) string {
	return fmt.Sprintf("%s-t%d-%s-%s", parentID, i+1, unsafeIDChars.ReplaceAllString(t.Endpoint, "_"), unsafeIDChars.ReplaceAllString(t.Model, "_"))
}

// sequential runs the targets one after another.
func (c *comparison) sequential(ctx workflow.Context) {
	for i, t := range c.in.Targets {
		if t.Carried == "" {
			c.await(ctx, i, c.start(ctx, i))
		}
	}
}

// parallel starts every target's run, then waits for each.
func (c *comparison) parallel(ctx workflow.Context) {
	futures := make([]workflow.ChildWorkflowFuture, len(c.in.Targets))
	for i, t := range c.in.Targets {
		if t.Carried == "" {
			futures[i] = c.start(ctx, i)
		}
	}
	for i, f := range futures {
		if f != nil {
			c.await(ctx, i, f)
		}
	}
}

// start starts target i's run as a child workflow.
func (c *comparison) start(ctx workflow.Context, i int) workflow.ChildWorkflowFuture {
	in := c.in.TargetInput(i)
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:               c.result.Targets[i].WorkflowID,
		WorkflowExecutionTimeout: in.ExecutionTimeout(),
		StaticSummary:            StaticSummary(in) + fmt.Sprintf(", target %d of comparison %s", i+1, c.parentID),
		StaticDetails:            StaticDetails(in),
		// The memo field `starter list` reads a run's endpoint from.
		Memo: map[string]any{"endpoint": in.Endpoint},
	}
	if c.in.SearchAttributes {
		opts.TypedSearchAttributes = StartSearchAttributes(in)
	}
	c.states[i].State = testrun.TargetRunning
	c.details(ctx)
	return workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), ConcurrencyTest, in)
}

// await waits for target i's run to end and records its outcome.
func (c *comparison) await(ctx workflow.Context, i int, f workflow.ChildWorkflowFuture) {
	o := &c.result.Targets[i]
	var exec workflow.Execution
	if err := f.GetChildWorkflowExecution().Get(ctx, &exec); err != nil {
		c.fail(ctx, i, fmt.Sprintf("the run could not start: %v", err))
		return
	}
	o.RunID = exec.RunID
	var r testrun.Result
	err := f.Get(ctx, &r)
	var appErr *temporal.ApplicationError
	if err != nil && errors.As(err, &appErr) && appErr.Type() == AbortedErrorType && appErr.Details(&r) == nil {
		err = errors.New(r.Aborted)
	}
	if r.Config.Model != "" {
		h := testrun.HeadlineOf(r)
		o.Verdict, o.Speedup = h.Verdict, h.Speedup
	}
	if err != nil {
		c.fail(ctx, i, oneLine(err.Error()))
		return
	}
	c.states[i].State = testrun.TargetDone
	c.details(ctx)
}

// fail records that target i's run failed.
func (c *comparison) fail(ctx workflow.Context, i int, why string) {
	c.result.Targets[i].Error = why
	c.states[i].State, c.states[i].Error = testrun.TargetFailed, why
	c.details(ctx)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// query answers the progress query.
func (c *comparison) query() (testrun.ComparisonProgress, error) {
	return testrun.ComparisonProgress{Parallel: c.in.Parallel, Targets: append([]testrun.TargetState(nil), c.states...)}, nil
}

// details shows the targets' states in the Temporal UI's current details.
func (c *comparison) details(ctx workflow.Context) {
	var b strings.Builder
	mode := "one after another"
	if c.in.Parallel {
		mode = "all at once"
	}
	fmt.Fprintf(&b, "Comparison of %d targets, %s.\n\n", len(c.states), mode)
	for i, s := range c.states {
		line := fmt.Sprintf("- %d. %s · %s: %s", i+1, s.Endpoint, s.Model, s.State)
		if o := c.result.Targets[i]; o.Verdict != "" {
			line += ", verdict " + o.Verdict
		}
		b.WriteString(line + "\n")
	}
	workflow.SetCurrentDetails(ctx, b.String())
}
