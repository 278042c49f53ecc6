package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// comparisonOutcome is what a comparison's end returned.
type comparisonOutcome struct {
	result testrun.ComparisonResult
	err    error
}

// followComparison shows the comparison's progress until it ends, then
// writes and prints its result.
func (w *watcher) followComparison(ctx context.Context, handle client.WorkflowRun) error {
	o, err := w.watchComparison(ctx, handle)
	if err != nil {
		return err
	}
	return w.finishComparison(o)
}

// targetWatch is what the progress display last showed of one target.
type targetWatch struct {
	state, phase string
	done         int
	printed      time.Time
}

// watchComparison shows which targets run and how far each is, one line
// per change (at most one a second per target while its requests
// complete), until the comparison ends; and returns its outcome.
func (w *watcher) watchComparison(ctx context.Context, handle client.WorkflowRun) (comparisonOutcome, error) {
	done := make(chan comparisonOutcome, 1)
	go func() {
		var r testrun.ComparisonResult
		err := handle.Get(ctx, &r)
		done <- comparisonOutcome{r, err}
	}()
	w.announce("comparison")
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	seen := map[int]*targetWatch{}
	lastAnswer, hinted := time.Now(), false
	for {
		select {
		case o := <-done:
			return o, nil
		case <-ctx.Done():
			return comparisonOutcome{}, w.interrupted()
		case <-tick.C:
		}
		p, err := w.comparisonProgress(ctx)
		if err := encrypted(w.ref.workflowID, err); err != nil {
			return comparisonOutcome{}, err
		}
		if err == nil {
			lastAnswer = time.Now()
			w.showTargets(ctx, p, seen)
			continue
		}
		switch since := time.Since(lastAnswer); {
		case since >= cmp.Or(w.noWorkerWait, noWorkerWait):
			return comparisonOutcome{}, failed(fmt.Errorf("no worker answered for comparison %s for %s: %s, then follow it with `starter -attach %s`; it waits in Temporal meanwhile",
				w.ref.workflowID, since.Round(time.Second), w.serveHint(), w.ref.workflowID))
		case since >= workerHintAfter && !hinted:
			hinted = true
			fmt.Fprintf(w.dest.human, "Waiting for a worker on task queue %q to take the comparison… %s.\n", w.ref.taskQueue, w.serveHint())
		}
	}
}

// comparisonProgress asks the comparison where its targets are.
func (w *watcher) comparisonProgress(ctx context.Context) (testrun.ComparisonProgress, error) {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var p testrun.ComparisonProgress
	v, err := w.conn.client.QueryWorkflow(qctx, w.ref.workflowID, w.ref.runID, workflows.ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

// showTargets prints what changed since seen: a target's state, and a
// running target's phase and count of completed requests.
func (w *watcher) showTargets(ctx context.Context, p testrun.ComparisonProgress, seen map[int]*targetWatch) {
	n := len(p.Targets)
	for i, t := range p.Targets {
		s := seen[i]
		if s == nil {
			s = &targetWatch{}
			seen[i] = s
		}
		name := fmt.Sprintf("[%d/%d %s · %s]", i+1, n, t.Endpoint, t.Model)
		if t.State != s.state {
			s.state = t.State
			fmt.Fprintf(w.dest.human, "%s %s\n", name, stateLine(t))
		}
		if t.State != testrun.TargetRunning {
			continue
		}
		run, err := w.targetProgress(ctx, t.WorkflowID)
		if err != nil || run.Endpoint.BaseURL == "" {
			continue
		}
		pp := passProgressOf(run)
		changed := run.Phase != s.phase || (pp.Done != s.done && (pp.Done == pp.Total || time.Since(s.printed) >= time.Second))
		if !changed {
			continue
		}
		s.phase, s.done, s.printed = run.Phase, pp.Done, time.Now()
		if pp.Total > 0 {
			fmt.Fprintf(w.dest.human, "%s %s: %d of %d requests done\n", name, run.Phase, pp.Done, pp.Total)
		} else {
			fmt.Fprintf(w.dest.human, "%s %s\n", name, run.Phase)
		}
	}
}

// stateLine says a target's new state.
func stateLine(t testrun.TargetState) string {
	switch t.State {
	case testrun.TargetRunning:
		return "running: workflow " + t.WorkflowID
	case testrun.TargetFailed:
		return "failed: " + t.Error
	case testrun.TargetCarried:
		return "carried over from run " + t.WorkflowID + " (nothing to resend)"
	}
	return t.State
}

// targetProgress queries a target's run for its progress, without its
// events.
func (w *watcher) targetProgress(ctx context.Context, id string) (testrun.Progress, error) {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var p testrun.Progress
	v, err := w.conn.client.QueryWorkflow(qctx, id, "", workflows.ProgressQuery, math.MaxInt32)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

// passProgressOf is the progress of the pass a run is in (zero between
// passes).
func passProgressOf(p testrun.Progress) testrun.PassProgress {
	switch p.Phase {
	case "sequential":
		return p.Sequential
	case "concurrent":
		return p.Concurrent
	}
	for _, s := range p.Sweep {
		if string(s.Pass) == p.Phase {
			return s.PassProgress
		}
	}
	return testrun.PassProgress{}
}

// finishComparison builds the comparison's document from its targets'
// runs, shows each target's report and the table, writes the JSON and the
// HTML report, and returns the exit error.
func (w *watcher) finishComparison(o comparisonOutcome) error {
	wasCancelled := false
	if o.err != nil {
		ok, err := cancelledWith(o.err, &o.result)
		if !ok || err != nil {
			return comparisonError(w.ref.workflowID, o.err)
		}
		wasCancelled = true
	}
	ctx := context.Background()
	var docs []report.TargetDocument
	var readErrs []string
	for _, t := range o.result.Targets {
		doc, err := w.targetDocument(ctx, t)
		if err != nil {
			readErrs = append(readErrs, fmt.Sprintf("target %s · %s: %v", t.Endpoint, t.Model, err))
		}
		docs = append(docs, doc)
	}
	d := report.BuildComparison(w.ref.workflowID, w.ref.runID, o.result, docs)
	w.showComparison(d)
	if err := w.dest.writeComparison(d); err != nil {
		return err
	}
	if wasCancelled {
		return failed(fmt.Errorf("comparison %s was cancelled through Temporal before it ended; the JSON has what its targets measured", w.ref.workflowID))
	}
	return comparisonExit(d, readErrs)
}

// comparisonError is the error of a comparison that returned no result.
func comparisonError(id string, err error) error {
	if err := encrypted(id, err); err != nil {
		return err
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.InvalidInputErrorType {
		return badInput("the worker rejected the comparison's input: %s", appErr.Message())
	}
	return failed(fmt.Errorf("comparison %s ended without a result (%v); each target's run keeps its own: `starter list` shows them, `starter result ID` writes one", id, oneLine(err.Error())))
}

// targetDocument is the document of one target's run: its own (merged with
// the run it reran, for a rerun of failed requests), or, for a run that
// returned no result, one that says why. The error is set when the run's
// result or records could not be read.
func (w *watcher) targetDocument(ctx context.Context, t testrun.TargetOutcome) (report.TargetDocument, error) {
	doc, err := finishedDocument(ctx, w.conn, t.WorkflowID, 0)
	if err == nil {
		return report.TargetDocument{Document: doc, Carried: t.Carried}, nil
	}
	in, _, inErr := history.StartedInput(ctx, w.conn.client, w.conn.dc, t.WorkflowID)
	if inErr != nil || in.Model == "" {
		in = testrun.Input{Endpoint: t.Endpoint, Model: t.Model}
	}
	why := t.Error
	if why == "" {
		why = "its result could not be read: " + oneLine(err.Error())
	}
	doc = report.FailedTarget(t.WorkflowID, t.RunID, in.WithDefaults(), why)
	if t.Error != "" {
		err = nil // the run failed: its document says why
	}
	return report.TargetDocument{Document: doc, Carried: t.Carried}, err
}

// showComparison prints each target's report, then the table.
func (w *watcher) showComparison(d report.ComparisonDocument) {
	n := len(d.Targets)
	for i, t := range d.Targets {
		fmt.Fprintf(w.dest.human, "\nTARGET %d OF %d: %s · %s (workflow %s)\n", i+1, n, t.Config.EndpointName, t.Config.Model, t.WorkflowID)
		disp := newDisplay(report.Text{W: w.dest.human}, false)
		disp.config(t.Config, w.configExtra(t.Config)...)
		if t.Rerun != nil {
			fmt.Fprintf(w.dest.human, "Merged with run %s: %d failed requests resent.\n", t.Rerun.Of, len(t.Rerun.Replaced))
		}
		disp.result(t.Document)
	}
	report.Text{W: w.dest.human}.ComparisonTable(d)
}

// comparisonExit is the exit error of a comparison whose result is
// written: targets that failed or ended early, or records not read.
func comparisonExit(d report.ComparisonDocument, readErrs []string) error {
	if len(readErrs) > 0 {
		return failed(fmt.Errorf("the JSON lacks what some targets measured (%s); it is safe in their histories: `starter result %s` writes it", strings.Join(readErrs, "; "), d.WorkflowID))
	}
	var bad []string
	for _, r := range d.ComparisonTable {
		if r.Error != "" {
			bad = append(bad, fmt.Sprintf("%d (%s · %s)", r.Target, r.Endpoint, r.Model))
		}
	}
	if len(bad) > 0 {
		return failed(fmt.Errorf("%d of %d targets failed or ended early: %s; the JSON has what they measured, `starter rerun %s -failed-only` resends what failed",
			len(bad), len(d.ComparisonTable), strings.Join(bad, ", "), d.WorkflowID))
	}
	return nil
}

// writeComparison writes a comparison's document: the table with -quiet,
// the JSON file, the HTML report, and the JSON on stdout with -json.
func (d destination) writeComparison(doc report.ComparisonDocument) error {
	if d.conclusion != nil {
		report.Text{W: d.conclusion}.ComparisonTable(doc)
	}
	if err := report.WriteComparisonJSON(d.jsonPath, doc); err != nil {
		return failed(err)
	}
	fmt.Fprintf(d.human, "Results saved to %s\n", d.jsonPath)
	if d.htmlPath != "" {
		if err := htmlreport.WriteComparisonFile(d.htmlPath, doc); err != nil {
			return failed(err)
		}
		fmt.Fprintf(d.human, "HTML report: %s\n", d.htmlPath)
	}
	if d.jsonStream != nil {
		if err := report.EncodeComparisonJSON(d.jsonStream, doc); err != nil {
			return failed(err)
		}
	}
	return nil
}
