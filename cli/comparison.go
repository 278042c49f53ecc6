package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// A comparison (`-endpoint a,b,c` and/or `-model x,y`) runs one
// ConcurrencyTest per target (endpoint × model) under one
// ConcurrencyComparison workflow; see docs/compare.md.

// isComparison reports whether the flags ask for a comparison: -endpoint
// or -model is a list.
func (o options) isComparison() bool {
	return strings.Contains(o.endpoint, ",") || strings.Contains(o.model, ",")
}

// comparisonPlan is what the main command is to do for a comparison,
// checked before anything starts.
type comparisonPlan struct {
	in                 testrun.ComparisonInput
	id                 string
	jsonPath, htmlPath string
	queue              string
}

// DefaultComparisonID is concurrency-comparison-<UTC timestamp>.
func DefaultComparisonID(now time.Time) string {
	return "concurrency-comparison-" + now.UTC().Format("20060102T150405.000Z")
}

// splitList reads a comma list of a flag: no empty item, none twice.
func splitList(flagName, s string) ([]string, error) {
	var items []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, badInput("%s %q: an empty item in the list (items are separated by single commas)", flagName, s)
		}
		if slices.Contains(items, f) {
			return nil, badInput("%s %q lists %q twice", flagName, s, f)
		}
		items = append(items, f)
	}
	return items, nil
}

// comparisonPlan checks the flags of a comparison and builds its input:
// every target's run input is checked, and priced, as a run's is.
// Long because it checks, in order, every flag that does not combine with
// a comparison before it builds the targets.
func (o options) comparisonPlan(now time.Time) (cp comparisonPlan, err error) {
	switch {
	case o.attach != "":
		return cp, badInput("-attach follows a run or a comparison by its workflow ID: give it no -endpoint or -model list")
	case o.repeat > 1:
		return cp, badInput("-repeat does not combine with a comparison (an -endpoint or -model list): repeat single runs instead")
	case o.devFresh && !o.dev:
		return cp, badInput("-dev-fresh goes with -dev")
	}
	endpoints, err := splitList("-endpoint", o.endpoint)
	if err != nil {
		return cp, err
	}
	models, err := splitList("-model", o.model)
	if err != nil {
		return cp, err
	}
	if n := len(endpoints) * len(models); n < 2 || n > testrun.MaxTargets {
		return cp, badInput("a comparison has 2 to %d targets (endpoints × models), got %d", testrun.MaxTargets, n)
	}
	first := o
	first.endpoint, first.model = endpoints[0], models[0]
	base, err := first.runInput()
	if err != nil {
		return cp, err
	}
	base.Prices, base.CostEstimate = nil, nil
	cp.in = testrun.ComparisonInput{Base: base.WithDefaults(), Parallel: o.parallelTargets}
	for _, e := range endpoints {
		for _, m := range models {
			t, err := o.target(base, e, m)
			if err != nil {
				return cp, err
			}
			cp.in.Targets = append(cp.in.Targets, t)
		}
	}
	if err := cp.in.Validate(); err != nil {
		return cp, badInput("%v", err)
	}
	cp.id = cmp.Or(o.workflowID, DefaultComparisonID(now))
	cp.jsonPath, cp.htmlPath, err = o.outputPaths(cp.id)
	return cp, err
}

// target is the target endpoint × model of a comparison on base, priced.
func (o options) target(base testrun.Input, endpoint, model string) (testrun.Target, error) {
	in := base
	in.Endpoint, in.Model = endpoint, model
	in, err := o.cost.withCost(in, devSimulated(o, endpoint))
	if err != nil {
		return testrun.Target{}, err
	}
	if err := in.WithDefaults().Validate(); err != nil {
		return testrun.Target{}, badInput("%v", err)
	}
	return testrun.Target{Endpoint: endpoint, Model: model, Prices: in.Prices, CostEstimate: in.CostEstimate}, nil
}

// compareCommand is the main command for a comparison: it checks
// everything, asks for the cost if need be, starts the comparison and
// follows it to its end.
// Long because it is the comparison's one sequence of steps (plan, cost,
// demo, dial, checks, the run), each a call or two, as mainCommand's.
func compareCommand(o options, stdout, stderr io.Writer) error {
	if o.parallelTargets && !o.isComparison() {
		return badInput("-parallel-targets goes with a comparison: give -endpoint or -model a comma list")
	}
	cp, err := o.comparisonPlan(time.Now())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dest := newDestination(cp.jsonPath, cp.htmlPath, stdout, stderr, o.quiet, o.jsonOut)
	if err := o.cost.approve(comparisonCostInput(cp.in), 1, stderr, os.Stdin, interactive()); err != nil {
		return err
	}
	var dev *devEnv
	cp.queue = o.taskQueue
	uiURL := o.uiURL
	if o.dev {
		if dev, err = o.startDemo(ctx, strings.Join(targetModels(cp.in), ","), dest.human, stderr); err != nil {
			return err
		}
		defer dev.close()
		cp.queue, uiURL = dev.taskQueue, dev.uiURL
	}
	c, copts, err := dial(ctx, dev, "", stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	showComparisonCost(cp.in, dest.human)
	if err := requireTargets(ctx, c, copts.HostPort, cp.queue, cp.in, dest.human); err != nil {
		return err
	}
	w := newWatcher(connOf(c, copts), dest, watchOptions{uiURL: uiURL, dev: dev, live: true})
	err = w.compare(ctx, cp.id, cp.queue, cp.in)
	if dev != nil && err == nil {
		dev.linger(ctx, dest.human, w.link())
	}
	return err
}

// requireTargets makes sure, as requireEndpoint does for a run, that a
// worker on queue serves every endpoint the comparison runs.
func requireTargets(ctx context.Context, c client.Client, address, queue string, in testrun.ComparisonInput, note io.Writer) error {
	var done []string
	for _, t := range in.Targets {
		if t.Carried != "" || slices.Contains(done, t.Endpoint) {
			continue
		}
		if err := requireEndpoint(ctx, c, address, queue, t.Endpoint, workerWait, note); err != nil {
			return err
		}
		done = append(done, t.Endpoint)
	}
	return nil
}

// targetModels lists the models of the comparison, each once.
func targetModels(in testrun.ComparisonInput) []string {
	var models []string
	for _, t := range in.Targets {
		if !slices.Contains(models, t.Model) {
			models = append(models, t.Model)
		}
	}
	return models
}

// comparisonCostInput is what the cost guard weighs: the targets'
// estimates added up, under the models that have no price (when one has
// none, for the guard's message), else all of them.
func comparisonCostInput(in testrun.ComparisonInput) testrun.Input {
	est := in.Estimate()
	var unpriced []string
	for _, t := range in.Targets {
		if t.Carried == "" && t.Prices == nil && !slices.Contains(unpriced, t.Model) {
			unpriced = append(unpriced, t.Model)
		}
	}
	model := strings.Join(unpriced, ", ")
	if model == "" {
		model = strings.Join(targetModels(in), ", ")
	}
	return testrun.Input{Model: model, CostEstimate: &est}
}

// showComparisonCost prints the estimate of each target's run, and their
// sum.
func showComparisonCost(in testrun.ComparisonInput, human io.Writer) {
	est := in.Estimate()
	fmt.Fprintf(human, "Cost estimate of the comparison (%d runs): %s.\n", in.Runs(), est)
	for i, t := range in.Targets {
		if t.Carried != "" || t.CostEstimate == nil {
			continue
		}
		fmt.Fprintf(human, "  %d. %s · %s: %s\n", i+1, t.Endpoint, t.Model, costLine(in.TargetInput(i), *t.CostEstimate, 1))
	}
}

// startComparison starts a comparison.
func (w *watcher) startComparison(ctx context.Context, id, taskQueue string, in testrun.ComparisonInput) (client.WorkflowRun, error) {
	in.SearchAttributes = !codec.Enabled(os.Getenv) && searchAttributesRegistered(ctx, w.conn.client, w.conn.namespace)
	var names []string
	for _, t := range in.Targets {
		names = append(names, t.Endpoint+" · "+t.Model)
	}
	mode := "one after another"
	if in.Parallel {
		mode = "at once"
	}
	opts := client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		StaticSummary:            fmt.Sprintf("comparison of %d targets, %s: %s", len(in.Targets), mode, strings.Join(names, ", ")),
		WorkflowExecutionTimeout: in.ExecutionTimeout(),
		Memo:                     map[string]any{memoEndpoint: strings.Join(uniqueEndpoints(in), ",")},
	}
	handle, err := w.conn.client.ExecuteWorkflow(ctx, opts, workflows.ConcurrencyComparison, in)
	if err != nil {
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &exists) {
			return nil, badInput("a run with workflow ID %q already exists: choose another -id, or follow it with -attach %s", id, id)
		}
		return nil, failed(fmt.Errorf("start the comparison: %w", err))
	}
	w.ref, w.started = runRef{handle.GetID(), handle.GetRunID(), taskQueue}, true
	return handle, nil
}

// uniqueEndpoints lists the endpoints of the comparison, each once.
func uniqueEndpoints(in testrun.ComparisonInput) []string {
	var out []string
	for _, t := range in.Targets {
		if !slices.Contains(out, t.Endpoint) {
			out = append(out, t.Endpoint)
		}
	}
	return out
}

// compare starts a comparison and follows it to its end.
func (w *watcher) compare(ctx context.Context, id, taskQueue string, in testrun.ComparisonInput) error {
	handle, err := w.startComparison(ctx, id, taskQueue, in)
	if err != nil {
		return err
	}
	return w.followComparison(ctx, handle)
}
