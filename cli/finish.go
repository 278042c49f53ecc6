package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/term"

	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// A finished run goes through three steps, each its own function: its
// result is assembled (decoded, completed with the records in its history,
// merged with the run it reran), shown, and written; then its exit error
// says what went wrong, if anything, once everything measured is written.

// outcome is what a run's end returned: its result, or the error it ended
// with.
type outcome struct {
	result testrun.Result
	err    error
}

// decode is a run's result: the one it returned, or the measurements an
// early abort carries.
func (o outcome) decode(workflowID string) (testrun.Result, error) {
	result := o.result
	if o.err == nil {
		return result, nil
	}
	if err := encrypted(workflowID, o.err); err != nil {
		return result, err
	}
	if ok, err := cancelledWith(o.err, &result); ok {
		if err != nil {
			return result, failed(fmt.Errorf("run %s was cancelled and its partial result cannot be read: %v", workflowID, err))
		}
		return result, nil
	}
	var appErr *temporal.ApplicationError
	if !errors.As(o.err, &appErr) {
		return result, failed(fmt.Errorf("run %s ended without a result: %v", workflowID, o.err))
	}
	switch appErr.Type() {
	case workflows.InvalidInputErrorType:
		return result, badInput("the worker rejected the run's input: %s", appErr.Message())
	case workflows.AbortedErrorType:
		if err := appErr.Details(&result); err != nil {
			return result, failed(fmt.Errorf("run %s ended early (%s) and its partial result cannot be read: %v", workflowID, appErr.Message(), err))
		}
		return result, nil
	}
	return result, failed(fmt.Errorf("run %s failed: %v", workflowID, o.err))
}

// cancelledWith reports whether err is the end of a run or comparison
// cancelled through Temporal, and decodes into result what it had
// measured (the details of its cancellation; see workflows.CancelledReason).
// A cancellation without details (a build before the workflows returned
// them, or a run cancelled before it started) is not one.
func cancelledWith(err error, result any) (bool, error) {
	var canErr *temporal.CanceledError
	if !errors.As(err, &canErr) || !canErr.HasDetails() {
		return false, nil
	}
	return true, canErr.Details(result)
}

// assembled is a finished run's document, and what kept it from being
// whole.
type assembled struct {
	doc report.Document // the document to write: merged, for a rerun of failed requests
	own report.Document // the run's own document, before a merge
	// historyErr is why the per-request records could not be read from
	// the run's history; mergeErr why a rerun could not be merged.
	historyErr, mergeErr error
}

// assemble builds the document of the run that ended with o. It reads the
// history without a deadline or the interrupt: the run has ended, and its
// records are not to be lost to a Ctrl+C now.
func (w *watcher) assemble(o outcome) (assembled, error) {
	id, runID := w.ref.workflowID, w.ref.runID
	result, err := o.decode(id)
	if err != nil {
		return assembled{}, err
	}
	ctx := context.Background()
	var a assembled
	a.historyErr = history.ReadRecords(ctx, w.conn.client, w.conn.dc, id, runID, &result)
	a.doc = report.Build(id, runID, result)
	a.own = a.doc
	if a.historyErr == nil {
		a.doc, a.mergeErr = mergeRerun(ctx, w.conn, a.doc, result.Config, 0)
	}
	return a, nil
}

// maxRerunChain bounds how many reruns of failed requests a result merges.
const maxRerunChain = 20

// mergeRerun merges doc, the document of a run with configuration cfg, into
// the (merged) document of the run it reran, read from that run's history,
// when it is a rerun of failed requests; any other document is returned as
// it is.
func mergeRerun(ctx context.Context, conn temporalConn, doc report.Document, cfg testrun.Input, depth int) (report.Document, error) {
	if cfg.Only == nil || cfg.RerunOf == "" {
		return doc, nil
	}
	if depth >= maxRerunChain {
		return doc, fmt.Errorf("run %s reruns failed requests of more than %d runs in a chain: the JSON has only its own requests", doc.WorkflowID, maxRerunChain)
	}
	base, err := finishedDocument(ctx, conn, cfg.RerunOf, depth+1)
	if err != nil {
		return doc, fmt.Errorf("merge with run %s, which this run reran: %w", cfg.RerunOf, err)
	}
	return report.Merge(base, doc), nil
}

// finishedDocument reads a finished run's result and records from its
// history, and builds its document (merged, for a rerun of failed
// requests; depth counts the reruns merged so far).
func finishedDocument(ctx context.Context, conn temporalConn, workflowID string, depth int) (report.Document, error) {
	handle := conn.client.GetWorkflow(ctx, workflowID, "")
	var r testrun.Result
	err := handle.Get(ctx, &r)
	if r, err = (outcome{r, err}).decode(workflowID); err != nil {
		return report.Document{}, err
	}
	if err := history.ReadRecords(ctx, conn.client, conn.dc, workflowID, handle.GetRunID(), &r); err != nil {
		return report.Document{}, err
	}
	return mergeRerun(ctx, conn, report.Build(workflowID, handle.GetRunID(), r), r.Config, depth)
}

// finish turns the run's outcome into the JSON file, the report and the exit
// error. A run that ended early still has its measurements written.
func (w *watcher) finish(o outcome) error {
	a, err := w.assemble(o)
	if err != nil {
		return err
	}
	return w.conclude(a)
}

// conclude shows and writes an assembled run, and returns its exit error.
func (w *watcher) conclude(a assembled) error {
	w.show(a)
	if err := w.dest.write(a.doc); err != nil {
		return err
	}
	return a.exitErr(w.ref.workflowID)
}

// show prints the report of an assembled run: for a rerun of failed
// requests, its resent requests' lines, then the merged result.
func (w *watcher) show(a assembled) {
	doc := a.doc
	if doc.Rerun != nil {
		w.display.rerunOf = doc.Rerun.Of
		w.display.config(doc.Config, w.configExtra(doc.Config)...)
		w.display.resent(a.own)
		fmt.Fprintf(w.dest.human, "Merged with run %s: %d failed requests resent.\n", doc.Rerun.Of, len(doc.Rerun.Replaced))
	}
	w.display.config(doc.Config, w.configExtra(doc.Config)...)
	w.display.result(doc)
}

// exitErr is the error a finished run's command ends with, after its result
// is written: records missing from the JSON, a merge that failed, or a run
// that ended early; nil for a complete run.
func (a assembled) exitErr(workflowID string) error {
	switch {
	case a.historyErr != nil:
		return failed(fmt.Errorf("the JSON lacks the per-request records (%v); they are safe in the run's history: `starter -attach %s` writes them", a.historyErr, workflowID))
	case a.mergeErr != nil:
		return failed(fmt.Errorf("%v; `starter result %s` writes the merged JSON once that is fixed", a.mergeErr, workflowID))
	case a.doc.Error != "":
		return failed(fmt.Errorf("the run ended early: %s", a.doc.Error))
	}
	return nil
}

// destination is where a finished run's result goes, and where a person
// reads the report.
type destination struct {
	jsonPath string // the result JSON file
	htmlPath string // the HTML report file, or "" for none
	// human gets the progress, the report and the notes: stdout, or
	// stderr when stdout carries the JSON (-json); io.Discard with -quiet.
	human io.Writer
	// conclusion gets the conclusion alone, with -quiet; else nil.
	conclusion io.Writer
	// jsonStream gets the result JSON too, with -json (stdout); else nil.
	jsonStream io.Writer
}

// newDestination is the destination of the paths, for the output flags
// -quiet and -json.
func newDestination(jsonPath, htmlPath string, stdout, stderr io.Writer, quiet, jsonOut bool) destination {
	d := destination{jsonPath: jsonPath, htmlPath: htmlPath, human: stdout}
	if jsonOut {
		d.human, d.jsonStream = stderr, stdout
	}
	if quiet {
		d.human, d.conclusion = io.Discard, d.human
	}
	return d
}

// write writes doc: the conclusion with -quiet, the JSON file, the HTML
// report, and the JSON on stdout with -json.
func (d destination) write(doc report.Document) error {
	if d.conclusion != nil {
		report.Text{W: d.conclusion}.Conclusion(doc.Conclusion)
	}
	if err := report.WriteJSON(d.jsonPath, doc); err != nil {
		return failed(err)
	}
	fmt.Fprintf(d.human, "Results saved to %s\n", d.jsonPath)
	if d.htmlPath != "" {
		if err := htmlreport.WriteFile(d.htmlPath, doc, htmlOptions(doc)); err != nil {
			return failed(err)
		}
		fmt.Fprintf(d.human, "HTML report: %s\n", d.htmlPath)
	}
	if d.jsonStream != nil {
		if err := report.EncodeJSON(d.jsonStream, doc); err != nil {
			return failed(err)
		}
	}
	return nil
}

// htmlOptions passes a sweep's levels to the HTML report.
func htmlOptions(doc report.Document) htmlreport.Options {
	var o htmlreport.Options
	if doc.Sweep != nil {
		o.Sweep = doc.Sweep.Levels
	}
	return o
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
