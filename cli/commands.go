package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// dial connects with the standard environment configuration (or to the
// demo's dev server, with -dev), and returns the options it used (namespace,
// data converter); failing to is bad input (the address or the key is the
// user's to fix). cmd is the command, for the hint on the demo's runs
// (none when "").
func dial(ctx context.Context, dev *devEnv, cmd string, stderr io.Writer) (client.Client, client.Options, error) {
	address := ""
	if dev != nil {
		address = dev.address
	}
	opts, err := temporalenv.Options(address, temporalenv.QuietLogger(stderr))
	if err != nil {
		return nil, opts, badInput("%v", err)
	}
	c, err := temporalenv.Dial(ctx, opts, 10*time.Second)
	if err != nil {
		return nil, opts, badInput("%v%s", err, devHint(dev == nil && cmd != "", cmd))
	}
	return c, opts, nil
}

// devHint follows an unreachable server's error: the demo's runs are in its
// own dev server, reached with -dev.
func devHint(show bool, cmd string) string {
	if !show || os.Getenv("TEMPORAL_ADDRESS") != "" {
		return ""
	}
	return "; runs of the demo are kept in its dev server: `starter -dev " + cmd + "`"
}

// devMissing adds to a "no run with workflow ID" error where the run may be:
// in the demo's dev server (without -dev), or gone with a fresh or in-memory
// demo (with it).
func devMissing(err error, dev *devEnv) error {
	var ee exitError
	if err == nil || !errors.As(err, &ee) || !strings.HasPrefix(ee.err.Error(), "no run with workflow ID") {
		return err
	}
	switch {
	case dev == nil:
		return badInput("%v: a run of the demo is in its own dev server: add -dev (`starter -dev list` shows them)", ee.err)
	case dev.server == nil:
		return badInput("%v: the demo used the Temporal server already running at %s, which does not have it", ee.err, dev.address)
	case dev.dbFile == "":
		return badInput("%v: this demo keeps no runs (no cache folder)", ee.err)
	}
	return badInput("%v: the demo keeps its runs in %s, which -dev-fresh empties (`starter -dev list` shows what it has)", ee.err, dev.dbFile)
}

// encrypted is the error of a run whose payloads this starter cannot
// decrypt (no LLMCONC_CODEC_KEY, or another key): the codec's own line.
func encrypted(id string, err error) error {
	if ke, ok := codec.IsKeyError(err); ok {
		return badInput("run %s: %v", id, ke)
	}
	return nil
}

// listCmd shows recent runs: status, verdict, speedup and start time. A
// run whose result this starter cannot decrypt shows the verdict
// "encrypted".
type listCmd struct{ n int }

func (l *listCmd) define(fs *flag.FlagSet) {
	fs.IntVar(&l.n, "n", 20, "how many runs, newest first")
}

func (l *listCmd) check(args []string) error {
	if len(args) > 0 {
		return badInput("list: unexpected argument %q (run starter list -h for the flags)", args[0])
	}
	if l.n < 1 {
		return badInput("list: -n must be at least 1, got %d", l.n)
	}
	return nil
}

func (l *listCmd) exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error {
	c, opts, err := dial(ctx, dev, "list", stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: opts.Namespace, PageSize: int32(l.n), Query: "WorkflowType = 'ConcurrencyTest' OR WorkflowType = 'ConcurrencyProbe' OR WorkflowType = '" + workflows.ComparisonWorkflowName + "'",
	})
	if err != nil {
		return failed(fmt.Errorf("list the runs: %w", err))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW ID\tSTATUS\tENDPOINT\tVERDICT\tSPEEDUP\tSTARTED (UTC)")
	var encryptedRuns int
	var keyErr error // of the first run whose result cannot be decrypted
	for _, ex := range resp.GetExecutions() {
		row := listRowOf(ctx, c, opts.DataConverter, ex)
		if parent := ex.GetParentExecution().GetWorkflowId(); parent != "" && row.note == "" {
			row.note = "a target of comparison " + parent
		}
		if row.keyErr != nil {
			encryptedRuns++
			keyErr = cmp.Or(keyErr, row.keyErr)
		}
		row.print(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The other runs are listed right: one line says what to set, and the
	// listing still succeeds.
	if keyErr != nil {
		fmt.Fprintf(stderr, "%d of these runs are encrypted and show no verdict: %v\n", encryptedRuns, keyErr)
	}
	return nil
}

// listRow is one run's line in `starter list`.
type listRow struct {
	id, status, endpoint, verdict, speedup, started, note string
	// keyErr is why the run's result cannot be decrypted, or nil.
	keyErr error
}

// listRowOf reads what `starter list` shows of run ex: its endpoint from
// its memo, and a finished run's verdict and speedup from its result.
func listRowOf(ctx context.Context, c client.Client, dc converter.DataConverter, ex *workflowpb.WorkflowExecutionInfo) listRow {
	id, runID := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
	row := listRow{id: id, status: statusName(ex.GetStatus()), endpoint: "-", verdict: "-", speedup: "-",
		started: ex.GetStartTime().AsTime().UTC().Format("2006-01-02 15:04:05")}
	if p := ex.GetMemo().GetFields()[memoEndpoint]; p != nil {
		_ = dc.FromPayload(p, &row.endpoint)
	}
	if isComparisonRun(ex) {
		return comparisonListRow(ctx, c, row, ex)
	}
	switch ex.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var r testrun.Result
		err := c.GetWorkflow(ctx, id, runID).Get(ctx, &r)
		if err == nil {
			row.verdict, row.speedup = headline(r)
			if row.endpoint == "-" {
				row.endpoint = r.Config.WithDefaults().Endpoint
			}
			if r.Config.Only != nil && r.Config.RerunOf != "" {
				// A rerun of failed requests: its merged result has
				// the original run's timings, so its verdict.
				row.verdict, row.speedup, row.note = originalHeadline(ctx, c, r.Config.RerunOf)
			}
		} else if ke, ok := codec.IsKeyError(err); ok {
			row.verdict, row.keyErr = "encrypted", ke
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		row.verdict = "ended early"
	}
	return row
}

// print writes the row to tw, the note (if any) in a last column.
func (r listRow) print(tw io.Writer) {
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s", r.id, r.status, r.endpoint, r.verdict, r.speedup, r.started)
	if r.note != "" {
		fmt.Fprint(tw, "\t"+r.note)
	}
	fmt.Fprintln(tw)
}

// originalHeadline is the verdict and speedup of a rerun of failed
// requests of run orig (that of the first run of a chain of reruns), and
// the note that marks the rerun in `starter list`.
func originalHeadline(ctx context.Context, c client.Client, orig string) (verdict, speedup, note string) {
	note = "rerun of failed requests of " + orig + " (merged: its verdict)"
	id := orig
	for range maxRerunChain {
		var r testrun.Result
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, &r); err != nil {
			return "-", "-", note
		}
		if r.Config.Only == nil || r.Config.RerunOf == "" {
			verdict, speedup = headline(r)
			return verdict, speedup, note
		}
		id = r.Config.RerunOf
	}
	return "-", "-", note
}

// headline is a finished run's verdict and speedup, from the summaries in
// its result (no history needed).
func headline(r testrun.Result) (verdict, speedup string) {
	h := testrun.HeadlineOf(r)
	verdict, speedup = h.Verdict, "-"
	if h.Knee > 0 {
		verdict = fmt.Sprintf("sweep: knee at %d", h.Knee)
	} else if len(r.Sweep) > 0 {
		verdict = "sweep: no knee"
	}
	if r.Config.Probe != nil && h.Verdict != testrun.VerdictAborted {
		verdict = probeHeadline(r)
	}
	if h.Speedup > 0 {
		speedup = fmt.Sprintf("%.2fx", h.Speedup)
	}
	return verdict, speedup
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	}
	return s.String()
}

// resultCmd rebuilds a finished run's JSON and HTML report from its
// history, sending no request.
type resultCmd struct {
	o                  options
	id                 string
	jsonPath, htmlPath string
	slo                sloFlag // -slo: count the goodput under other objectives
}

func (r *resultCmd) define(fs *flag.FlagSet) {
	r.o.outputFlags(fs)
	fs.Var(&r.slo, "slo", "count each pass's goodput under these `objectives` (ttft=500ms,tpot=50ms,latency=5s) instead of the run's -slo (docs/goodput.md)")
}

func (r *resultCmd) check(args []string) (err error) {
	if r.id, err = oneWorkflowID("result", args); err != nil {
		return err
	}
	r.jsonPath, r.htmlPath, err = r.o.outputPaths(r.id)
	return err
}

func (r *resultCmd) exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error {
	id := r.id
	c, opts, err := dial(ctx, dev, "result "+id, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	ns := opts.Namespace
	info, err := describeRun(ctx, c, ns, id)
	if err != nil {
		return devMissing(err, dev)
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return badInput("run %s is still running: follow it with `starter -attach %s`", id, id)
	}
	w := newWatcher(connOf(c, opts), newDestination(r.jsonPath, r.htmlPath, stdout, stderr, false, false), watchOptions{})
	w.ref = runRef{workflowID: id, runID: info.GetExecution().GetRunId()}
	if isComparisonRun(info) {
		return w.comparisonResult(ctx, r.slo.slo != nil)
	}
	var result testrun.Result
	err = c.GetWorkflow(ctx, id, w.ref.runID).Get(ctx, &result)
	o, err := withSLO(outcome{result, err}, id, r.slo.slo)
	if err != nil {
		return err
	}
	return w.finish(o)
}

// rerunCmd starts a new run with the configuration of an earlier one, read
// from the earlier run's history (its input, prompts included, and its task
// queue), and follows it like a new run.
type rerunCmd struct {
	o          options
	failedOnly bool
	orig       string // the workflow ID of the run to rerun
}

func (r *rerunCmd) define(fs *flag.FlagSet) {
	r.o.outputFlags(fs)
	fs.BoolVar(&r.failedOnly, "failed-only", false, "resend only the requests that failed, and write a result that merges them with the run's successes")
	fs.StringVar(&r.o.workflowID, "id", "", "workflow ID of the new run (default concurrency-test-<model>-<UTC time>)")
	uiFlag(fs, &r.o.uiURL)
	r.o.cost.defineGuards(fs)
}

func (r *rerunCmd) check(args []string) (err error) {
	if r.orig, err = oneWorkflowID("rerun", args); err != nil {
		return err
	}
	return r.o.checkOutputs()
}

func (r *rerunCmd) exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error {
	now := time.Now()
	orig := r.orig
	c, opts, err := dial(ctx, dev, "rerun "+orig, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	if info, err := describeRun(ctx, c, opts.Namespace, orig); err == nil && isComparisonRun(info) {
		return r.rerunComparison(ctx, dev, connOf(c, opts), opts.HostPort, stdout, stderr)
	}
	in, queue, err := startedWith(ctx, c, opts, orig, dev)
	if err != nil {
		return err
	}
	what := "with its configuration"
	if r.failedOnly {
		n, err := onlyFailed(ctx, connOf(c, opts), orig, &in)
		if err != nil {
			return err
		}
		what = fmt.Sprintf("resending its %d failed requests", n)
	} else if in.Only == nil {
		in.RerunOf = orig
	}
	if err := in.WithDefaults().Validate(); err != nil {
		return badInput("run %s's configuration is not valid any more: %v", orig, err)
	}
	if err := r.o.cost.rerunCost(&in, dev != nil && dev.cfg.APIKey == "" && in.WithDefaults().Endpoint == record.DefaultEndpoint, stderr); err != nil {
		return err
	}
	id := cmp.Or(r.o.workflowID, DefaultWorkflowID(in.Model, now))
	outPath, htmlPath, err := r.o.outputPaths(id)
	if err != nil {
		return err
	}
	if dev != nil {
		if err := dev.serve(in.Model, queue); err != nil {
			return err
		}
	} else if err := requireServed(ctx, c, queue, orig); err != nil {
		return err
	}
	if err := requireEndpoint(ctx, c, opts.HostPort, queue, in.WithDefaults().Endpoint, workerWait, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Rerunning %s %s.\n", orig, what)
	fmt.Fprintln(stdout, costLine(in, *in.CostEstimate, 1))
	w := newWatcher(connOf(c, opts), newDestination(outPath, htmlPath, stdout, stderr, false, false), watchOptions{uiURL: r.o.uiURL, live: true})
	return w.measure(ctx, id, queue, in)
}

// startedWith reads the input and the task queue of run orig from the
// first event of its history.
func startedWith(ctx context.Context, c client.Client, opts client.Options, orig string, dev *devEnv) (testrun.Input, string, error) {
	in, queue, err := history.StartedInput(ctx, c, opts.DataConverter, orig)
	switch {
	case errors.Is(err, history.ErrNoRun):
		return in, "", devMissing(badInput("no run with workflow ID %q in namespace %q", orig, opts.Namespace), dev)
	case errors.Is(err, history.ErrNotATestRun):
		if err := encrypted(orig, err); err != nil {
			return in, "", err
		}
		return in, "", badInput("run %s is not a concurrency test run: its history does not start with one", orig)
	case err != nil:
		return in, "", failed(err)
	}
	return in, queue, nil
}

// requireServed refuses at once a rerun of run orig on a task queue that no
// worker polls, saying how to serve it: a demo run's queue with -dev, any
// other with a worker on that queue.
func requireServed(ctx context.Context, c client.Client, queue, orig string) error {
	workers, err := workerEndpoints(ctx, c, queue)
	if err != nil || len(workers) > 0 {
		return nil // requireEndpoint says what is wrong
	}
	return badInput("run %s ran on task queue %q, which no worker polls: %s", orig, queue, serveHint(queue, "rerun "+orig))
}

// serveHint says how to put a worker on queue; cmd is the starter command
// to give again for a demo run's queue.
func serveHint(queue, cmd string) string {
	switch {
	case isDevQueue(queue):
		return fmt.Sprintf("it is a demo run's own queue: `starter -dev %s` serves it", cmd)
	case queue == workflows.TaskQueue:
		return "start a worker (`go run ./worker`, with the same TEMPORAL_ADDRESS and namespace)"
	}
	return fmt.Sprintf("start a worker on it (`go run ./worker -task-queue %s`, with the same TEMPORAL_ADDRESS and namespace)", queue)
}

// onlyFailed limits a rerun of run orig to the requests that failed in it
// (in its result merged with the reruns before, if it was one), and returns
// how many there are. The run must be finished.
func onlyFailed(ctx context.Context, conn temporalConn, orig string, in *testrun.Input) (int, error) {
	desc, err := conn.client.DescribeWorkflow(ctx, orig, "")
	if err != nil {
		return 0, failed(fmt.Errorf("look up run %s: %w", orig, err))
	}
	if desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return 0, badInput("run %s is still running: its failed requests are known once it ends (follow it with `starter -attach %s`)", orig, orig)
	}
	doc, err := finishedDocument(ctx, conn, orig, 0)
	if err != nil {
		return 0, err
	}
	only := map[record.Pass][]int{}
	n := 0
	for _, p := range doc.Passes() {
		for _, r := range p.Requests {
			if !r.OK {
				only[r.Pass] = append(only[r.Pass], r.Index)
				n++
			}
		}
	}
	if n == 0 {
		return 0, badInput("run %s has no failed request: there is nothing to resend", orig)
	}
	in.Only, in.RerunOf = only, orig
	return n, nil
}

// modelOf is the model of run id, read from its input, or DefaultModel.
func modelOf(ctx context.Context, c client.Client, id string) string {
	in, _, err := history.StartedInput(ctx, c, converter.GetDefaultDataConverter(), id)
	if models := comparisonModels(ctx, c, id); models != "" {
		return models // a comparison's models, comma-separated
	}
	if err != nil || in.Model == "" {
		return DefaultModel
	}
	return in.Model
}
