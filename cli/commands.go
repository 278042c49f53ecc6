package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/workflows"
)

// commands are the starter's subcommands; without one it starts a run.
var commands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"list":   runList,
	"result": runResult,
	"rerun":  runRerun,
}

// dial connects with the standard environment configuration, and returns
// the options it used (namespace, data converter); failing to is bad input
// (the address or the key is the user's to fix).
func dial(ctx context.Context, stderr io.Writer) (client.Client, client.Options, error) {
	opts, err := temporalenv.Options("", temporalenv.QuietLogger(stderr))
	if err != nil {
		return nil, opts, badInput("%v", err)
	}
	c, err := temporalenv.Dial(ctx, opts, 10*time.Second)
	if err != nil {
		return nil, opts, badInput("%v", err)
	}
	return c, opts, nil
}

// encrypted is the error of a run whose payloads this starter cannot
// decrypt (no LLMCONC_CODEC_KEY, or another key): the codec's own line.
func encrypted(id string, err error) error {
	if ke, ok := codec.IsKeyError(err); ok {
		return badInput("run %s: %v", id, ke)
	}
	return nil
}

func subFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("starter "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(stderr)
		fmt.Fprintln(stderr, "Usage: starter "+name+" "+usage)
		fs.PrintDefaults()
	}
	return fs
}

func parseSub(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return err
		}
		return badInput("%v (run %s -h for the flags)", err, fs.Name())
	}
	return nil
}

// runList shows recent runs: status, verdict, speedup and start time. A run
// whose result this starter cannot decrypt shows the verdict "encrypted".
func runList(args []string, stdout, stderr io.Writer) error {
	fs := subFlags("list", "[-n N]", stderr)
	n := fs.Int("n", 20, "how many runs, newest first")
	if err := parseSub(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return badInput("-n must be at least 1, got %d", *n)
	}
	ctx := context.Background()
	c, opts, err := dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: opts.Namespace, PageSize: int32(*n), Query: "WorkflowType = 'ConcurrencyTest'",
	})
	if err != nil {
		return failed(fmt.Errorf("list the runs: %w", err))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW ID\tSTATUS\tENDPOINT\tVERDICT\tSPEEDUP\tSTARTED (UTC)")
	var encryptedRuns int
	var keyErr error // of the first run whose result cannot be decrypted
	for _, ex := range resp.GetExecutions() {
		id, runID := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
		verdict, speedup, endpoint := "-", "-", "-"
		if p := ex.GetMemo().GetFields()[memoEndpoint]; p != nil {
			_ = opts.DataConverter.FromPayload(p, &endpoint)
		}
		switch ex.GetStatus() {
		case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			var r workflows.RunResult
			err := c.GetWorkflow(ctx, id, runID).Get(ctx, &r)
			if err == nil {
				verdict, speedup = headline(r)
				if endpoint == "-" {
					endpoint = r.Config.WithDefaults().Endpoint
				}
			} else if ke, ok := codec.IsKeyError(err); ok {
				verdict = "encrypted"
				encryptedRuns++
				if keyErr == nil {
					keyErr = ke
				}
			}
		case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
			verdict = "ended early"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, statusName(ex.GetStatus()), endpoint, verdict, speedup,
			ex.GetStartTime().AsTime().UTC().Format("2006-01-02 15:04:05"))
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

// headline is a finished run's verdict and speedup, from the summaries in
// its result (no history needed).
func headline(r workflows.RunResult) (verdict, speedup string) {
	h := workflows.HeadlineOf(r)
	verdict, speedup = h.Verdict, "-"
	if h.Knee > 0 {
		verdict = fmt.Sprintf("sweep: knee at %d", h.Knee)
	} else if len(r.Sweep) > 0 {
		verdict = "sweep: no knee"
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

// runResult rebuilds a finished run's JSON and HTML report from its history,
// sending no request.
func runResult(args []string, stdout, stderr io.Writer) error {
	fs := subFlags("result", "[-out FILE] [-html FILE] WORKFLOW_ID", stderr)
	var o options
	o.outputFlags(fs)
	if err := parseSub(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return badInput("starter result takes one workflow ID (starter list shows them)")
	}
	id := fs.Arg(0)
	outPath, htmlPath, err := o.outputPaths(time.Now())
	if err != nil {
		return err
	}
	ctx := context.Background()
	c, opts, err := dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	ns := opts.Namespace
	info, err := describeRun(ctx, c, ns, id)
	if err != nil {
		return err
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return badInput("run %s is still running: follow it with `starter -attach %s`", id, id)
	}
	w := &watcher{
		c: c, dc: opts.DataConverter, namespace: ns, out: outPath, html: htmlPath,
		display: newDisplay(report.Text{W: stdout}, false), stdout: stdout, final: stdout,
		workflowID: id, runID: info.GetExecution().GetRunId(),
	}
	var r workflows.RunResult
	err = c.GetWorkflow(ctx, id, w.runID).Get(ctx, &r)
	return w.finish(outcome{r, err})
}

// runRerun starts a new run with the configuration of an earlier one, read
// from the earlier run's history (its input, prompts included, and its task
// queue), and follows it like a new run.
func runRerun(args []string, stdout, stderr io.Writer) error {
	fs := subFlags("rerun", "[-failed-only] [-out FILE] [-html FILE] [-id NEW_ID] WORKFLOW_ID", stderr)
	var o options
	o.outputFlags(fs)
	failedOnly := fs.Bool("failed-only", false, "resend only the requests that failed, and write a result that merges them with the run's successes")
	fs.StringVar(&o.workflowID, "id", "", "workflow ID of the new run (default concurrency-test-<model>-<UTC time>)")
	fs.StringVar(&o.uiURL, "ui", "http://localhost:8080", "base URL of the Temporal Web UI, for links to the run")
	if err := parseSub(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return badInput("starter rerun takes one workflow ID (starter list shows them)")
	}
	now := time.Now()
	outPath, htmlPath, err := o.outputPaths(now)
	if err != nil {
		return err
	}
	ctx := context.Background()
	c, opts, err := dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	ns := opts.Namespace
	orig := fs.Arg(0)
	it := c.GetWorkflowHistory(ctx, orig, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return badInput("no run with workflow ID %q in namespace %q", orig, ns)
	}
	first, err := it.Next()
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return badInput("no run with workflow ID %q in namespace %q", orig, ns)
		}
		return failed(fmt.Errorf("read the history of run %s: %w", orig, err))
	}
	started := first.GetWorkflowExecutionStartedEventAttributes()
	var in workflows.RunInput
	if started == nil {
		return badInput("run %s is not a concurrency test run: its history does not start with one", orig)
	}
	if err := opts.DataConverter.FromPayloads(started.GetInput(), &in); err != nil {
		if err := encrypted(orig, err); err != nil {
			return err
		}
		return badInput("run %s is not a concurrency test run: its history does not start with one", orig)
	}
	what := "with its configuration"
	if *failedOnly {
		n, err := onlyFailed(ctx, c, opts.DataConverter, orig, &in)
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
	id := o.workflowID
	if id == "" {
		id = DefaultWorkflowID(in.Model, now)
	}
	if err := requireEndpoint(ctx, c, opts.HostPort, started.GetTaskQueue().GetName(), in.WithDefaults().Endpoint, workerWait, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Rerunning %s %s.\n", orig, what)
	w := &watcher{
		c: c, dc: opts.DataConverter, namespace: ns, uiURL: o.uiURL, out: outPath, html: htmlPath,
		display: newDisplay(report.Text{W: stdout}, isTerminal(stdout)), stdout: stdout, final: stdout,
		input: &in,
	}
	return w.start(ctx, id, started.GetTaskQueue().GetName(), in)
}

// onlyFailed limits a rerun of run orig to the requests that failed in it
// (in its result merged with the reruns before, if it was one), and returns
// how many there are. The run must be finished.
func onlyFailed(ctx context.Context, c client.Client, dc converter.DataConverter, orig string, in *workflows.RunInput) (int, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, orig, "")
	if err != nil {
		return 0, failed(fmt.Errorf("look up run %s: %w", orig, err))
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return 0, badInput("run %s is still running: its failed requests are known once it ends (follow it with `starter -attach %s`)", orig, orig)
	}
	doc, err := finishedDocument(ctx, c, dc, orig, 0)
	if err != nil {
		return 0, err
	}
	only := map[string][]int{}
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
