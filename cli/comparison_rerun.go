package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// isComparisonRun reports whether a workflow is a comparison.
func isComparisonRun(info *workflowpb.WorkflowExecutionInfo) bool {
	return info.GetType().GetName() == workflows.ComparisonWorkflowName
}

// comparisonResult rebuilds a finished comparison's JSON and HTML report
// from its history and its targets' (`starter result`).
func (w *watcher) comparisonResult(ctx context.Context, slo bool) error {
	if slo {
		return badInput("result: -slo recounts the goodput of a run; for a comparison, give it to `starter result` of each target's workflow ID")
	}
	var r testrun.ComparisonResult
	err := w.conn.client.GetWorkflow(ctx, w.ref.workflowID, w.ref.runID).Get(ctx, &r)
	return w.finishComparison(comparisonOutcome{r, err})
}

// comparisonListRow is a comparison's line in `starter list`: its
// targets' verdicts, in order.
func comparisonListRow(ctx context.Context, c client.Client, row listRow, ex *workflowpb.WorkflowExecutionInfo) listRow {
	row.note = "comparison"
	if ex.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return row
	}
	var r testrun.ComparisonResult
	if err := c.GetWorkflow(ctx, ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()).Get(ctx, &r); err != nil {
		if ke, ok := codec.IsKeyError(err); ok {
			row.verdict, row.keyErr = "encrypted", ke
		}
		return row
	}
	var verdicts []string
	for _, t := range r.Targets {
		verdicts = append(verdicts, cmp.Or(t.Verdict, "failed"))
	}
	row.verdict = strings.Join(verdicts, ",")
	row.note = fmt.Sprintf("comparison of %d targets", len(r.Targets))
	return row
}

// rerunComparison starts a new comparison with an earlier one's input, or,
// with -failed-only, one that resends each target's failed requests (a
// target that returned no result is run again whole; one with nothing
// failed is carried over, not resent), and follows it.
// Long because it is the rerun's one sequence of steps (read, limit,
// price, check, start), as rerunCmd.exec's.
func (r *rerunCmd) rerunComparison(ctx context.Context, dev *devEnv, conn temporalConn, address string, stdout, stderr io.Writer) error {
	orig := r.orig
	in, queue, err := history.StartedComparison(ctx, conn.client, conn.dc, orig)
	if err != nil {
		if err := encrypted(orig, err); err != nil {
			return err
		}
		return failed(fmt.Errorf("read comparison %s's input: %w", orig, err))
	}
	what := "with its configuration"
	if r.failedOnly {
		n, err := failedTargets(ctx, conn, orig, &in)
		if err != nil {
			return err
		}
		what = fmt.Sprintf("resending %d failed requests or targets", n)
	}
	in.RerunOf = orig
	simulated := dev != nil && dev.cfg.APIKey == ""
	for i := range in.Targets {
		t := &in.Targets[i]
		if t.Carried != "" {
			continue
		}
		tin := in.TargetInput(i)
		priceRerun(&tin, simulated && t.Endpoint == record.DefaultEndpoint)
		t.Prices, t.CostEstimate = tin.Prices, tin.CostEstimate
	}
	if err := in.Validate(); err != nil {
		return badInput("comparison %s's configuration is not valid any more: %v", orig, err)
	}
	if err := r.o.cost.approve(comparisonCostInput(in), 1, stderr, os.Stdin, interactive()); err != nil {
		return err
	}
	id := cmp.Or(r.o.workflowID, DefaultComparisonID(time.Now()))
	outPath, htmlPath, err := r.o.outputPaths(id)
	if err != nil {
		return err
	}
	if dev != nil {
		if err := dev.serve(strings.Join(targetModels(in), ","), queue); err != nil {
			return err
		}
	} else if err := requireServed(ctx, conn.client, queue, orig); err != nil {
		return err
	}
	if err := requireTargets(ctx, conn.client, address, queue, in, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Rerunning comparison %s %s.\n", orig, what)
	showComparisonCost(in, stdout)
	w := newWatcher(conn, newDestination(outPath, htmlPath, stdout, stderr, false, false), watchOptions{uiURL: r.o.uiURL, live: true})
	return w.compare(ctx, id, queue, in)
}

// failedTargets limits a rerun of comparison orig to what failed in it:
// each target's failed requests (Only, merged with the target's run by
// RerunOf), a target that returned no result whole, and carries over a
// target with nothing failed. It returns how many requests and whole
// targets it resends. The comparison must be finished.
func failedTargets(ctx context.Context, conn temporalConn, orig string, in *testrun.ComparisonInput) (int, error) {
	var res testrun.ComparisonResult
	err := conn.client.GetWorkflow(ctx, orig, "").Get(ctx, &res)
	if err != nil {
		desc, derr := conn.client.DescribeWorkflow(ctx, orig, "")
		if derr == nil && desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return 0, badInput("comparison %s is still running: what failed is known once it ends (follow it with `starter -attach %s`)", orig, orig)
		}
		return 0, comparisonError(orig, err)
	}
	if len(res.Targets) != len(in.Targets) {
		return 0, failed(fmt.Errorf("comparison %s has %d targets in its result and %d in its input", orig, len(res.Targets), len(in.Targets)))
	}
	n := 0
	for i, o := range res.Targets {
		t := &in.Targets[i]
		k, err := limitTarget(ctx, conn, o, t)
		if err != nil {
			return 0, err
		}
		n += k
	}
	if n == 0 {
		return 0, badInput("comparison %s has no failed request or target: there is nothing to resend", orig)
	}
	return n, nil
}

// limitTarget sets target t of a rerun of failed requests from its outcome
// o in the comparison rerun, and returns what it resends: its failed
// requests, 1 for a target run again whole, 0 for one carried over.
func limitTarget(ctx context.Context, conn temporalConn, o testrun.TargetOutcome, t *testrun.Target) (int, error) {
	t.Carried, t.Only, t.RerunOf = "", nil, ""
	doc, err := finishedDocument(ctx, conn, o.WorkflowID, 0)
	var ee exitError
	if err != nil && !errors.As(err, &ee) {
		return 0, failed(fmt.Errorf("read target %s · %s (run %s): %w", o.Endpoint, o.Model, o.WorkflowID, err))
	}
	if err != nil {
		return 1, nil // no result: the target runs again whole
	}
	only := failedIndices(doc)
	switch {
	case len(only) == 0 && doc.Error != "":
		return 1, nil // ended early before any failure was recorded: run it again whole
	case len(only) == 0:
		t.Carried = o.WorkflowID
		return 0, nil
	}
	n := 0
	for _, idx := range only {
		n += len(idx)
	}
	t.Only, t.RerunOf = only, o.WorkflowID
	return n, nil
}

// failedIndices lists the failed requests of doc by pass.
func failedIndices(doc report.Document) map[record.Pass][]int {
	only := map[record.Pass][]int{}
	for _, p := range doc.Passes() {
		for _, r := range p.Requests {
			if !r.OK && !slices.Contains(only[r.Pass], r.Index) {
				only[r.Pass] = append(only[r.Pass], r.Index)
			}
		}
	}
	if len(only) == 0 {
		return nil
	}
	return only
}

// comparisonModels is the models of comparison id, comma-separated, read
// from its input; "" when id is not a comparison.
func comparisonModels(ctx context.Context, c client.Client, id string) string {
	in, _, err := history.StartedComparison(ctx, c, nil, id)
	if err != nil || len(in.Targets) == 0 {
		return ""
	}
	return strings.Join(targetModels(in), ",")
}
