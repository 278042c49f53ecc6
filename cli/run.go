package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/term"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// Main runs the starter with args (without the program name) and returns the
// exit code. Errors are printed as one line on stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && lookupCommand(args[0]) != nil:
		err = runSubcommand(lookupCommand(args[0]), false, args[1:], stdout, stderr)
	case len(args) > 1 && isDevFlag(args[0]) && lookupCommand(args[1]) != nil:
		err = runSubcommand(lookupCommand(args[1]), true, args[2:], stdout, stderr)
	default:
		err = run(args, stdout, stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "starter: "+oneLine(err.Error()))
	}
	return ExitCode(err)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	now := time.Now()
	var in testrun.Input
	if o.attach == "" {
		if in, err = o.runInput(); err != nil {
			return err
		}
	}
	id := o.attach
	if id == "" {
		if id = o.workflowID; id == "" {
			id = DefaultWorkflowID(in.Model, now)
		}
	}
	outPath, htmlPath, err := o.outputPaths(id)
	if err != nil {
		return err
	}
	if o.devFresh && !o.dev {
		return badInput("-dev-fresh goes with -dev")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The report goes to human: stdout, or stderr when stdout carries the
	// JSON, or nowhere but the conclusion with -quiet.
	human, final := stdout, stdout
	if o.jsonOut {
		human, final = stderr, stderr
	}
	if o.quiet {
		human = io.Discard
	}

	address := ""
	taskQueue := o.taskQueue
	var extra []string
	var dev *devEnv
	if o.dev {
		if dev, err = startDev(ctx, o, human, stderr); err != nil {
			return err
		}
		defer dev.close()
		queue, model := devQueue(), in.Model
		if o.attach != "" {
			// An earlier demo run: its own queue gets a worker again, so
			// that a run the demo left unfinished goes on.
			info, err := describeRun(ctx, dev.client, client.DefaultNamespace, o.attach)
			if err != nil {
				return devMissing(err, dev)
			}
			queue, model = info.GetTaskQueue(), modelOf(ctx, dev.client, o.attach)
		}
		if err := dev.serve(model, queue); err != nil {
			return err
		}
		address, taskQueue, extra = dev.address, dev.taskQueue, dev.describe()
		o.uiURL = dev.uiURL
	}
	copts, err := temporalenv.Options(address, temporalenv.QuietLogger(stderr))
	if err != nil {
		return badInput("%v", err)
	}
	c, err := temporalenv.Dial(ctx, copts, 10*time.Second)
	if err != nil {
		return badInput("%v%s", err, devHint(o.attach != "", "-attach "+o.attach))
	}
	defer c.Close()
	// -dev checked the endpoint against its own worker's configuration.
	if o.attach == "" && dev == nil {
		if err := requireEndpoint(ctx, c, copts.HostPort, taskQueue, in.Endpoint, workerWait, human); err != nil {
			return err
		}
	}

	w := &watcher{
		c:         c,
		dc:        copts.DataConverter,
		namespace: copts.Namespace,
		uiURL:     o.uiURL,
		out:       outPath,
		html:      htmlPath,
		display:   newTermDisplay(human),
		stdout:    human,
		final:     final,
		jsonOut:   stdout,
		quiet:     o.quiet,
		json:      o.jsonOut,
		extra:     extra,
		dev:       dev,
	}
	if o.attach != "" {
		err = w.attach(ctx, o.attach)
		if dev == nil {
			err = devMissing(err, nil)
		}
	} else {
		w.input = &in
		if o.repeat <= 1 {
			err = w.start(ctx, id, taskQueue, in)
		} else {
			w.repeat = &repeatState{total: o.repeat}
			for i := 1; i <= o.repeat && err == nil; i++ {
				w.repeat.index = i
				fmt.Fprintf(human, "REPEAT %d OF %d\n\n", i, o.repeat)
				w.display = newTermDisplay(human)
				// Alternate the order of the passes, so that a drift of
				// the endpoint's speed favours neither.
				in.Order = testrun.OrderSequentialFirst
				if i%2 == 0 {
					in.Order = testrun.OrderConcurrentFirst
				}
				err = w.start(ctx, fmt.Sprintf("%s-r%d", id, i), taskQueue, in)
			}
		}
	}
	if dev != nil && err == nil {
		dev.linger(ctx, human, w.link())
	}
	return err
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DefaultWorkflowID is concurrency-test-<model>-<UTC timestamp>.
func DefaultWorkflowID(model string, now time.Time) string {
	return "concurrency-test-" + unsafeIDChars.ReplaceAllString(model, "_") + "-" + now.UTC().Format("20060102T150405.000Z")
}

// watcher follows one run to its end.
type watcher struct {
	c         client.Client
	dc        converter.DataConverter // c's, for the payloads of its history
	namespace string
	uiURL     string
	out       string
	html      string // the HTML report's path, or "" for none
	display   *display
	stdout    io.Writer // the report
	final     io.Writer // the conclusion, even with -quiet
	jsonOut   io.Writer // the result JSON, with -json
	quiet     bool
	json      bool
	extra     []string
	input     *testrun.Input
	// dev is the demo's environment, with -dev.
	dev *devEnv
	// repeat collects the runs of -repeat R; the files are written after the
	// last.
	repeat *repeatState
	// noWorkerWait bounds how long the starter follows a run that no worker
	// answers for; 0 means noWorkerWait.
	noWorkerWait time.Duration

	workflowID, runID string
	taskQueue         string
}

func (w *watcher) link() string {
	if w.uiURL == "" {
		return ""
	}
	return strings.TrimRight(w.uiURL, "/") + "/namespaces/" + w.namespace + "/workflows/" + w.workflowID + "/" + w.runID + "/history"
}

func (w *watcher) start(ctx context.Context, id, taskQueue string, in testrun.Input) error {
	opts := client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		StaticSummary:            workflows.StaticSummary(in),
		StaticDetails:            workflows.StaticDetails(in),
		Memo:                     map[string]any{memoEndpoint: in.WithDefaults().Endpoint},
		// A backstop behind the bounds of every wait: the run ends.
		WorkflowExecutionTimeout: in.WithDefaults().ExecutionTimeout(),
	}
	// Search attributes are stored in clear: with payload encryption on, a
	// run gets none, as they name its model (and the verdict is set only on
	// runs that have them).
	if !codec.Enabled(os.Getenv) && searchAttributesRegistered(ctx, w.c, w.namespace) {
		opts.TypedSearchAttributes = workflows.StartSearchAttributes(in)
	}
	run, err := w.c.ExecuteWorkflow(ctx, opts, workflows.ConcurrencyTest, in)
	if err != nil {
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &exists) {
			return badInput("a run with workflow ID %q already exists: choose another -id, or follow it with -attach %s", id, id)
		}
		return failed(fmt.Errorf("start the run: %w", err))
	}
	w.workflowID, w.runID, w.taskQueue = run.GetID(), run.GetRunID(), taskQueue
	return w.follow(ctx, run)
}

// searchAttributesRegistered reports whether the namespace has the run's
// search attributes (workflows.SearchAttributeTypes). A run started with an
// unregistered one would be refused, so without them runs start plainly.
func searchAttributesRegistered(ctx context.Context, c client.Client, namespace string) bool {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.OperatorService().ListSearchAttributes(lctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false
	}
	for name := range workflows.SearchAttributeTypes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			return false
		}
	}
	return true
}

func (w *watcher) attach(ctx context.Context, id string) error {
	info, err := describeRun(ctx, w.c, w.namespace, id)
	if err != nil {
		return err
	}
	runID := info.GetExecution().GetRunId()
	w.workflowID, w.runID, w.taskQueue = id, runID, info.GetTaskQueue()
	return w.follow(ctx, w.c.GetWorkflow(ctx, id, runID))
}

// workerHintAfter is how long the starter follows a run that no worker
// answers for before it says so.
const workerHintAfter = 3 * time.Second

// serveHint says how to put a worker on the run's task queue.
func (w *watcher) serveHint() string {
	if w.dev != nil {
		return "the demo's own worker should take it; if it does not, stop and `starter -dev -attach " + w.workflowID + "`"
	}
	return serveHint(w.taskQueue, "-attach "+w.workflowID)
}

// printLink prints the link to the run in the Temporal UI when the UI
// answers there, else one line on how to point the starter at it.
func (w *watcher) printLink() {
	l := w.link()
	if l == "" {
		return
	}
	if uiAnswers(w.uiURL) {
		fmt.Fprintf(w.stdout, "Temporal UI: %s\n", l)
		return
	}
	fmt.Fprintf(w.stdout, "(No Temporal UI answers at %s: for a link to the run, give its address with -ui or %s.)\n", w.uiURL, EnvUIURL)
	w.uiURL = ""
}

// uiAnswers reports whether a web server answers at base within 2 s.
func uiAnswers(base string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(base)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 500
}

// noWorkerWait is how long the starter follows a run that no worker
// answers for before it gives up (the run goes on in Temporal).
const noWorkerWait = 2 * time.Minute

// describeRun looks up the latest run of a workflow ID; an unknown ID is bad
// input.
func describeRun(ctx context.Context, c client.Client, namespace, id string) (*workflowpb.WorkflowExecutionInfo, error) {
	desc, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, badInput("no run with workflow ID %q in namespace %q", id, namespace)
		}
		return nil, failed(fmt.Errorf("look up run %s: %w", id, err))
	}
	return desc.RawResponse.GetWorkflowExecutionInfo(), nil
}

type outcome struct {
	result testrun.Result
	err    error
}

// follow shows the run's progress until it ends, then writes and prints the
// result.
func (w *watcher) follow(ctx context.Context, run client.WorkflowRun) error {
	done := make(chan outcome, 1)
	go func() {
		var r testrun.Result
		err := run.Get(ctx, &r)
		done <- outcome{r, err}
	}()
	if w.input != nil {
		fmt.Fprintf(w.stdout, "Started run %s (run ID %s)\n", w.workflowID, w.runID)
	} else {
		fmt.Fprintf(w.stdout, "Attached to run %s (run ID %s)\n", w.workflowID, w.runID)
	}
	w.printLink()
	fmt.Fprintln(w.stdout)

	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	next := 0
	// A run that no worker answers for waits in Temporal; following it is
	// bounded, and -attach resumes once a worker runs.
	giveUp := w.noWorkerWait
	if giveUp <= 0 {
		giveUp = noWorkerWait
	}
	lastAnswer, answered, hinted := time.Now(), false, false
	for {
		select {
		case o := <-done:
			return w.finish(o)
		case <-ctx.Done():
			if w.dev != nil && w.dev.server != nil {
				if w.dev.dbFile == "" {
					return failed(fmt.Errorf("interrupted: the demo's dev server stops with the starter, and run %s with it", w.workflowID))
				}
				return failed(fmt.Errorf("interrupted; run %s waits in the demo's history: resume it with `starter -dev -attach %s`", w.workflowID, w.workflowID))
			}
			return failed(fmt.Errorf("stopped following; the run goes on in Temporal: resume with `starter -attach %s`", w.workflowID))
		case <-tick.C:
			if !hinted && time.Since(lastAnswer) >= workerHintAfter {
				hinted = true
				fmt.Fprintf(w.stdout, "Waiting for a worker on task queue %q to take the run (none has answered for %s)… %s.\n",
					w.taskQueue, time.Since(lastAnswer).Round(time.Second), w.serveHint())
			}
			// Before any answer, a query waits for a worker that may not
			// be there: short, so that the hint above comes in time; then
			// long enough for a worker that replays a long history.
			timeout := 5 * time.Second
			if !answered && !hinted {
				timeout = time.Second
			}
			p, err := w.query(ctx, next, timeout)
			if err := encrypted(w.workflowID, err); err != nil {
				return err
			}
			if err != nil {
				if time.Since(lastAnswer) >= giveUp {
					return failed(fmt.Errorf("no worker answered for run %s for %s: %s, then follow the run with `starter -attach %s`; it waits in Temporal meanwhile", w.workflowID, giveUp, w.serveHint(), w.workflowID))
				}
				continue
			}
			if hinted {
				fmt.Fprintln(w.stdout, "A worker took the run.")
			}
			answered, hinted = true, false
			lastAnswer = time.Now()
			if p.Endpoint.BaseURL == "" {
				continue
			}
			cfg := report.ConfigOf(p.Config, p.Endpoint)
			w.display.config(cfg, w.configExtra(cfg)...)
			w.display.progress(p, cfg)
			next = p.Next
		}
	}
}

// configExtra is the configuration block's lines after the report's own:
// the endpoint (its name, base URL and label), then w.extra.
func (w *watcher) configExtra(c report.Config) []string {
	ep := c.EndpointName + " at " + c.Endpoint
	if c.EndpointLabel != "" {
		ep += " (" + c.EndpointLabel + ")"
	}
	return append([]string{"Endpoint:          " + ep}, w.extra...)
}

func (w *watcher) query(ctx context.Context, from int, timeout time.Duration) (testrun.Progress, error) {
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := w.c.QueryWorkflow(qctx, w.workflowID, w.runID, workflows.ProgressQuery, from)
	if err != nil {
		return testrun.Progress{}, err
	}
	var p testrun.Progress
	if err := v.Get(&p); err != nil {
		return testrun.Progress{}, err
	}
	return p, nil
}

// runResult decodes a run's outcome: its result, or the measurements an early
// abort carries.
func (o outcome) runResult(workflowID string) (testrun.Result, error) {
	result := o.result
	if o.err == nil {
		return result, nil
	}
	if err := encrypted(workflowID, o.err); err != nil {
		return result, err
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

// maxRerunChain bounds how many reruns of failed requests a result merges.
const maxRerunChain = 20

// mergeRerun merges doc, the document of a run with configuration cfg, into
// the (merged) document of the run it reran, read from that run's history,
// when it is a rerun of failed requests; any other document is returned as
// it is.
func mergeRerun(ctx context.Context, c client.Client, dc converter.DataConverter, doc report.Document, cfg testrun.Input, depth int) (report.Document, error) {
	if cfg.Only == nil || cfg.RerunOf == "" {
		return doc, nil
	}
	if depth >= maxRerunChain {
		return doc, fmt.Errorf("run %s reruns failed requests of more than %d runs in a chain: the JSON has only its own requests", doc.WorkflowID, maxRerunChain)
	}
	base, err := finishedDocument(ctx, c, dc, cfg.RerunOf, depth+1)
	if err != nil {
		return doc, fmt.Errorf("merge with run %s, which this run reran: %w", cfg.RerunOf, err)
	}
	return report.Merge(base, doc), nil
}

// finishedDocument reads a finished run's result and records from its
// history (decoded with dc, c's data converter), and builds its document.
func finishedDocument(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID string, depth int) (report.Document, error) {
	run := c.GetWorkflow(ctx, workflowID, "")
	var r testrun.Result
	err := run.Get(ctx, &r)
	if r, err = (outcome{r, err}).runResult(workflowID); err != nil {
		return report.Document{}, err
	}
	if err := history.ReadRecords(ctx, c, dc, workflowID, run.GetRunID(), &r); err != nil {
		return report.Document{}, err
	}
	return mergeRerun(ctx, c, dc, report.Build(workflowID, run.GetRunID(), r), r.Config, depth)
}

// finish turns the run's outcome into the JSON file, the report and the exit
// code. A run that ended early still has its measurements written.
func (w *watcher) finish(o outcome) error {
	result, err := o.runResult(w.workflowID)
	if err != nil {
		return err
	}
	historyErr := history.ReadRecords(context.Background(), w.c, w.dc, w.workflowID, w.runID, &result)
	var mergeErr error
	doc := report.Build(w.workflowID, w.runID, result)
	own := doc
	if historyErr == nil {
		doc, mergeErr = mergeRerun(context.Background(), w.c, w.dc, doc, result.Config, 0)
	}
	if doc.Rerun != nil {
		// A rerun of failed requests: its resent requests' lines, then the
		// merged result.
		w.display.rerunOf = doc.Rerun.Of
		w.display.config(doc.Config, w.configExtra(doc.Config)...)
		w.display.resent(own)
	}
	if doc.Rerun != nil {
		fmt.Fprintf(w.stdout, "Merged with run %s: %d failed requests resent.\n", doc.Rerun.Of, len(doc.Rerun.Replaced))
	}
	if w.repeat != nil {
		w.repeat.docs = append(w.repeat.docs, doc)
		if w.repeat.index == w.repeat.total || doc.Error != "" || historyErr != nil {
			report.AddRepeat(&doc, w.repeat.docs)
		} else {
			w.display.config(doc.Config, w.configExtra(doc.Config)...)
			w.display.result(doc)
			return nil
		}
	}
	w.display.config(doc.Config, w.configExtra(doc.Config)...)
	w.display.result(doc)
	if w.quiet {
		report.Text{W: w.final}.Conclusion(doc.Conclusion)
	}
	if err := report.WriteJSON(w.out, doc); err != nil {
		return failed(err)
	}
	fmt.Fprintf(w.stdout, "Results saved to %s\n", w.out)
	if w.html != "" {
		if err := htmlreport.WriteFile(w.html, doc, htmlOptions(doc)); err != nil {
			return failed(err)
		}
		fmt.Fprintf(w.stdout, "HTML report: %s\n", w.html)
	}
	if w.json {
		if err := report.EncodeJSON(w.jsonOut, doc); err != nil {
			return failed(err)
		}
	}
	if historyErr != nil {
		return failed(fmt.Errorf("the JSON lacks the per-request records (%v); they are safe in the run's history: `starter -attach %s` writes them", historyErr, w.workflowID))
	}
	if mergeErr != nil {
		return failed(fmt.Errorf("%v; `starter result %s` writes the merged JSON once that is fixed", mergeErr, w.workflowID))
	}
	if doc.Error != "" {
		return failed(fmt.Errorf("the run ended early: %s", doc.Error))
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// htmlOptions passes a sweep's levels to the HTML report.
func htmlOptions(doc report.Document) htmlreport.Options {
	var o htmlreport.Options
	if doc.Sweep != nil {
		o.Sweep = doc.Sweep.Levels
	}
	return o
}

// repeatState is the progress of -repeat R.
type repeatState struct {
	total, index int
	docs         []report.Document
}
