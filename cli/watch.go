package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// temporalConn is a Temporal client with what reading its runs takes.
type temporalConn struct {
	client    client.Client
	dc        converter.DataConverter // the client's, for the payloads of histories
	namespace string
}

// connOf is c, dialled with opts.
func connOf(c client.Client, opts client.Options) temporalConn {
	return temporalConn{client: c, dc: opts.DataConverter, namespace: opts.Namespace}
}

// runRef names the run a watcher follows.
type runRef struct {
	workflowID, runID string
	taskQueue         string
}

// watcher follows one run to its end, showing its progress, then finishes
// it (see finish.go): it writes the result and shows the report.
type watcher struct {
	conn    temporalConn
	dest    destination
	display *display
	// uiURL is the Temporal UI's base URL, for the link to the run; ""
	// for none (or once the UI did not answer).
	uiURL string
	// extra are the configuration block's lines after the endpoint's: the
	// demo's Temporal server, with -dev.
	extra []string
	// dev is the demo's environment, with -dev, for the hints on resuming.
	dev *devEnv
	// noWorkerWait bounds how long the starter follows a run that no
	// worker answers for; 0 means noWorkerWait.
	noWorkerWait time.Duration

	ref     runRef
	started bool // the run was started by this watcher, not attached to
}

// watchOptions are what differ between the watchers of the commands.
type watchOptions struct {
	uiURL string  // the Temporal UI, for a link to the run; "" for none
	dev   *devEnv // the demo's environment, with -dev
	// live is set when progress is shown as it comes: with a progress bar
	// in place on a terminal.
	live bool
}

// newWatcher is a watcher that reads runs through conn and writes their
// results to dest.
func newWatcher(conn temporalConn, dest destination, opts watchOptions) *watcher {
	w := &watcher{conn: conn, dest: dest, uiURL: opts.uiURL, dev: opts.dev}
	if opts.dev != nil {
		w.extra = opts.dev.describe()
	}
	w.resetDisplay(opts.live)
	return w
}

// resetDisplay starts a new display on the human report: for a new run.
func (w *watcher) resetDisplay(live bool) {
	if live {
		w.display = newTermDisplay(w.dest.human)
	} else {
		w.display = newDisplay(report.Text{W: w.dest.human}, false)
	}
}

func (w *watcher) link() string {
	if w.uiURL == "" {
		return ""
	}
	return strings.TrimRight(w.uiURL, "/") + "/namespaces/" + w.conn.namespace + "/workflows/" + w.ref.workflowID + "/" + w.ref.runID + "/history"
}

// measure starts a run with input in and follows it to its end.
func (w *watcher) measure(ctx context.Context, id, taskQueue string, in testrun.Input) error {
	handle, err := w.start(ctx, id, taskQueue, in)
	if err != nil {
		return err
	}
	return w.follow(ctx, handle)
}

// repeat runs the comparison of both passes times times (workflow IDs
// id-r1, id-r2, …), alternating which pass goes first so that a drift of
// the endpoint's speed favours neither, and writes the result of the last
// with the repeats' statistics. A run that ends early, or whose records
// cannot be read, ends the series there.
func (w *watcher) repeat(ctx context.Context, id, taskQueue string, in testrun.Input, times int) error {
	var docs []report.Document
	for i := 1; i <= times; i++ {
		fmt.Fprintf(w.dest.human, "REPEAT %d OF %d\n\n", i, times)
		w.resetDisplay(true)
		in.Order = testrun.OrderSequentialFirst
		if i%2 == 0 {
			in.Order = testrun.OrderConcurrentFirst
		}
		handle, err := w.start(ctx, fmt.Sprintf("%s-r%d", id, i), taskQueue, in)
		if err != nil {
			return err
		}
		o, err := w.watch(ctx, handle)
		if err != nil {
			return err
		}
		a, err := w.assemble(o)
		if err != nil {
			return err
		}
		docs = append(docs, a.doc)
		if i == times || a.doc.Error != "" || a.historyErr != nil {
			report.AddRepeat(&a.doc, docs)
			return w.conclude(a)
		}
		w.show(a)
	}
	return nil
}

// start starts a run.
func (w *watcher) start(ctx context.Context, id, taskQueue string, in testrun.Input) (client.WorkflowRun, error) {
	// The run's history records its input complete: the workflow uses it as
	// given, so a later change of a default cannot change this run (see
	// docs/versioning.md).
	in = in.WithDefaults()
	opts := client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		StaticSummary:            workflows.StaticSummary(in),
		StaticDetails:            workflows.StaticDetails(in),
		Memo:                     map[string]any{memoEndpoint: in.WithDefaults().Endpoint, memoModel: in.Model},
		// A backstop behind the bounds of every wait: the run ends.
		WorkflowExecutionTimeout: in.WithDefaults().ExecutionTimeout(),
	}
	// Search attributes are stored in clear: with payload encryption on, a
	// run gets none, as they name its model (and the verdict is set only on
	// runs that have them).
	if !codec.Enabled(os.Getenv) && searchAttributesRegistered(ctx, w.conn.client, w.conn.namespace) {
		opts.TypedSearchAttributes = workflows.StartSearchAttributes(in)
	}
	var workflow any = workflows.ConcurrencyTest
	if in.Probe != nil {
		workflow = workflows.ConcurrencyProbe
	}
	handle, err := w.conn.client.ExecuteWorkflow(ctx, opts, workflow, in)
	if err != nil {
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &exists) {
			return nil, badInput("a run with workflow ID %q already exists: choose another -id, or follow it with -attach %s", id, id)
		}
		return nil, failed(fmt.Errorf("start the run: %w", err))
	}
	w.ref, w.started = runRef{handle.GetID(), handle.GetRunID(), taskQueue}, true
	return handle, nil
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

// attach follows the latest run of workflow ID id.
func (w *watcher) attach(ctx context.Context, id string) error {
	info, err := describeRun(ctx, w.conn.client, w.conn.namespace, id)
	if err != nil {
		return err
	}
	runID := info.GetExecution().GetRunId()
	w.ref, w.started = runRef{id, runID, info.GetTaskQueue()}, false
	if isComparisonRun(info) {
		return w.followComparison(ctx, w.conn.client.GetWorkflow(ctx, id, runID))
	}
	return w.follow(ctx, w.conn.client.GetWorkflow(ctx, id, runID))
}

// workerHintAfter is how long the starter follows a run that no worker
// answers for before it says so.
const workerHintAfter = 3 * time.Second

// serveHint says how to put a worker on the run's task queue.
func (w *watcher) serveHint() string {
	if w.dev != nil {
		return "the demo's own worker should take it; if it does not, stop and `starter -dev -attach " + w.ref.workflowID + "`"
	}
	return serveHint(w.ref.taskQueue, "-attach "+w.ref.workflowID)
}

// printLink prints the link to the run in the Temporal UI when the UI
// answers there, else one line on how to point the starter at it.
func (w *watcher) printLink() {
	l := w.link()
	if l == "" {
		return
	}
	if uiAnswers(w.uiURL) {
		fmt.Fprintf(w.dest.human, "Temporal UI: %s\n", l)
		return
	}
	fmt.Fprintf(w.dest.human, "(No Temporal UI answers at %s: for a link to the run, give its address with -ui or %s.)\n", w.uiURL, EnvUIURL)
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

// follow shows the run's progress until it ends, then writes and prints the
// result.
func (w *watcher) follow(ctx context.Context, handle client.WorkflowRun) error {
	o, err := w.watch(ctx, handle)
	if err != nil {
		return err
	}
	return w.finish(o)
}

// announce says which workflow (what: "run" or "comparison") the starter
// started or attached to, and links it in the Temporal UI.
func (w *watcher) announce(what string) {
	verb := "Attached to"
	if w.started {
		verb = "Started"
	}
	fmt.Fprintf(w.dest.human, "%s %s %s (run ID %s)\n", verb, what, w.ref.workflowID, w.ref.runID)
	w.printLink()
	fmt.Fprintln(w.dest.human)
}

// watch shows the run's progress until it ends, and returns its outcome.
// A run that no worker answers for waits in Temporal: following it is
// bounded, and -attach resumes once a worker runs.
func (w *watcher) watch(ctx context.Context, handle client.WorkflowRun) (outcome, error) {
	done := make(chan outcome, 1)
	go func() {
		var r testrun.Result
		err := handle.Get(ctx, &r)
		done <- outcome{r, err}
	}()
	w.announce("run")

	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	p := poller{giveUp: cmp.Or(w.noWorkerWait, noWorkerWait), lastAnswer: time.Now()}
	for {
		select {
		case o := <-done:
			if o.err != nil && ctx.Err() != nil {
				// Interrupted: the wait for the result ended with ctx,
				// not the run.
				return outcome{}, w.interrupted()
			}
			return o, nil
		case <-ctx.Done():
			return outcome{}, w.interrupted()
		case <-tick.C:
			if err := w.poll(ctx, &p); err != nil {
				return outcome{}, err
			}
		}
	}
}

// interrupted is the error of a run no longer followed after Ctrl+C, with
// the way to resume following it.
func (w *watcher) interrupted() error {
	id := w.ref.workflowID
	if w.dev != nil && w.dev.server != nil {
		if w.dev.dbFile == "" {
			return failed(fmt.Errorf("interrupted: the demo's dev server stops with the starter, and run %s with it", id))
		}
		return failed(fmt.Errorf("interrupted; run %s waits in the demo's history: resume it with `starter -dev -attach %s`", id, id))
	}
	return failed(fmt.Errorf("stopped following; the run goes on in Temporal: resume with `starter -attach %s`", id))
}

// poller is the state of the progress queries of a run.
type poller struct {
	next       int // the first progress event not shown yet
	giveUp     time.Duration
	lastAnswer time.Time
	answered   bool // a worker answered a query
	hinted     bool // the hint on a missing worker is shown
}

// poll queries the run's progress and shows it; it says when no worker has
// answered for workerHintAfter, and gives up after p.giveUp.
func (w *watcher) poll(ctx context.Context, p *poller) error {
	if !p.hinted && time.Since(p.lastAnswer) >= workerHintAfter {
		p.hinted = true
		fmt.Fprintf(w.dest.human, "Waiting for a worker on task queue %q to take the run (none has answered for %s)… %s.\n",
			w.ref.taskQueue, time.Since(p.lastAnswer).Round(time.Second), w.serveHint())
	}
	// Before any answer, a query waits for a worker that may not be there:
	// short, so that the hint above comes in time; then long enough for a
	// worker that replays a long history.
	timeout := 5 * time.Second
	if !p.answered && !p.hinted {
		timeout = time.Second
	}
	progress, err := w.query(ctx, p.next, timeout)
	if err := encrypted(w.ref.workflowID, err); err != nil {
		return err
	}
	if err != nil {
		if time.Since(p.lastAnswer) >= p.giveUp {
			return failed(fmt.Errorf("no worker answered for run %s for %s: %s, then follow the run with `starter -attach %s`; it waits in Temporal meanwhile",
				w.ref.workflowID, p.giveUp, w.serveHint(), w.ref.workflowID))
		}
		return nil
	}
	if p.hinted {
		fmt.Fprintln(w.dest.human, "A worker took the run.")
	}
	p.answered, p.hinted, p.lastAnswer = true, false, time.Now()
	if progress.Endpoint.BaseURL == "" {
		return nil
	}
	cfg := report.ConfigOf(progress.Config, progress.Endpoint)
	w.display.config(cfg, w.configExtra(cfg)...)
	w.display.progress(progress, cfg)
	p.next = progress.Next
	if progress.More {
		// An answer carries a bounded number of events: catch up now.
		return w.poll(ctx, p)
	}
	return nil
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
	v, err := w.conn.client.QueryWorkflow(qctx, w.ref.workflowID, w.ref.runID, workflows.ProgressQuery, from)
	if err != nil {
		return testrun.Progress{}, err
	}
	var p testrun.Progress
	if err := v.Get(&p); err != nil {
		return testrun.Progress{}, err
	}
	return p, nil
}
