package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// Scheduled checks (docs/schedules.md): a Temporal Schedule whose action
// starts a ConcurrencyTest run with the input of the flags, every interval.
// Temporal sets the search attribute TemporalScheduledById on the runs a
// schedule starts, which `starter trend -schedule ID` queries.

// MinEvery is the shortest -every: Temporal schedules to the second.
const MinEvery = time.Second

// memoModel is the memo field that records a run's (or a schedule's)
// model, next to memoEndpoint.
const memoModel = "model"

// ScheduledByAttribute is the search attribute Temporal sets on the runs a
// schedule starts: the schedule's ID.
const ScheduledByAttribute = "TemporalScheduledById"

// scheduleIDPattern is what a schedule's ID may be: it names its runs, and
// goes into visibility queries.
var scheduleIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// checkScheduleID refuses a schedule ID outside scheduleIDPattern.
func checkScheduleID(what, id string) error {
	if !scheduleIDPattern.MatchString(id) {
		return badInput("%s: the schedule ID %q must be letters, digits, '.', '_' or '-' (at most 200, starting with a letter or digit)", what, id)
	}
	return nil
}

// DefaultScheduleID is llmconc-<endpoint>-<model>.
func DefaultScheduleID(endpoint, model string) string {
	return "llmconc-" + unsafeIDChars.ReplaceAllString(endpoint, "_") + "-" + unsafeIDChars.ReplaceAllString(model, "_")
}

var scheduleInfo = commandInfo{
	name:  "schedule",
	args:  "create|list|delete ...",
	short: "scheduled checks: a Temporal Schedule that starts a run every -every",
	about: "Scheduled checks: a Temporal Schedule starts a run with the same flags every interval (docs/schedules.md).\n" +
		"Pause, resume and trigger a schedule in the Temporal UI, or with `temporal schedule toggle|trigger`.",
	verbs: []commandInfo{scheduleCreateInfo, scheduleListInfo, scheduleDeleteInfo},
}

var scheduleCreateInfo = commandInfo{
	name:  "schedule create",
	args:  "[-id ID] -every DURATION [-now] [run flags]",
	short: "a schedule that starts a run with the run flags every DURATION (overlap policy: skip)",
	about: "Create a Temporal Schedule that starts a run (a ConcurrencyTest workflow) with the input of the run flags every\n" +
		"DURATION, checked as a run's before anything is created. Overlap policy: skip (a run due while the previous one\n" +
		"is still going is skipped, not queued). The cost guards apply to each run: -max-cost caps it, and a run estimated\n" +
		"over $1 needs -yes (or a yes at the terminal) once, at creation. The runs are named ID-<scheduled time> and carry\n" +
		"the search attribute TemporalScheduledById = ID.",
	examples: []string{
		"starter schedule create -every 1h",
		"starter schedule create -id groq-hourly -every 1h -endpoint groq -model llama-3.1-8b-instant -requests 20 -now",
		"starter schedule create -every 24h -requests 50 -max-cost 0.50",
	},
	new: func() subcommand { return &scheduleCreateCmd{} },
}

var scheduleListInfo = commandInfo{
	name:  "schedule list",
	args:  "",
	short: "the schedules of runs: interval, endpoint, model, paused, next run, last run and its verdict",
	about: "The schedules that start runs, in the namespace: interval, endpoint, model, paused, next run, last run and its verdict.\n" +
		"Read from Temporal's visibility store: a schedule created a moment ago may take a second to show.",
	examples: []string{"starter schedule list"},
	new:      func() subcommand { return &scheduleListCmd{} },
}

var scheduleDeleteInfo = commandInfo{
	name:     "schedule delete",
	args:     "ID",
	short:    "delete a schedule: it starts no more runs (its runs stay, for starter trend)",
	about:    "Delete a schedule of runs: it starts no more runs. A run it started that is still going ends on its own; its runs\nstay in Temporal, and `starter trend -schedule ID` still reads them.",
	examples: []string{"starter schedule delete llmconc-default-gpt-4.1-nano"},
	new:      func() subcommand { return &scheduleDeleteCmd{} },
}

// pickVerb is the subcommand of group info that args[0] names; -h prints
// the group's usage.
func pickVerb(info *commandInfo, args []string, stderr io.Writer) (*commandInfo, error) {
	var names []string
	for _, v := range info.verbs {
		names = append(names, strings.TrimPrefix(v.name, info.name+" "))
	}
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			fmt.Fprintf(stderr, "Usage: starter %s %s\n\n%s\n\n", info.name, strings.Join(names, "|"), info.about)
			for _, v := range info.verbs {
				fmt.Fprintf(stderr, "  %s\n      %s\n", strings.TrimSpace("starter "+v.name+" "+v.args), v.short)
			}
			fmt.Fprintf(stderr, "\nEach one's -h lists its flags (starter %s %s -h).\n", info.name, names[0])
			return nil, flag.ErrHelp
		}
		for i := range info.verbs {
			if info.verbs[i].name == info.name+" "+args[0] {
				return &info.verbs[i], nil
			}
		}
		return nil, badInput("%s: unknown subcommand %q: it takes %s (run starter %s -h)", info.name, args[0], strings.Join(names, ", "), info.name)
	}
	return nil, badInput("%s takes a subcommand: %s (run starter %s -h)", info.name, strings.Join(names, ", "), info.name)
}

// scheduleSkips are the run flags that schedule create does not take: they
// are about following one run (-attach, -out, -html, -quiet, -json),
// the demo, -repeat, a comparison's -parallel-targets, or (-id) the
// workflow ID, which is the schedule's here.
var scheduleSkips = map[string]bool{
	"attach": true, "dev": true, "dev-fresh": true, "repeat": true, "out": true, "html": true,
	"quiet": true, "json": true, "id": true, "parallel-targets": true,
}

// scheduleCreateCmd creates a schedule of runs.
type scheduleCreateCmd struct {
	o     options // the run flags
	fs    *flag.FlagSet
	id    string
	every time.Duration
	now   bool
	in    testrun.Input // the runs' input, complete and checked
}

func (c *scheduleCreateCmd) define(fs *flag.FlagSet) {
	// The run flags, the very ones of a run: the same names, defaults and
	// checks.
	newFlagSet(&c.o).VisitAll(func(f *flag.Flag) {
		if !scheduleSkips[f.Name] {
			// One endpoint and one model per schedule: no comma lists.
			fs.Var(f.Value, f.Name, strings.Replace(f.Usage, "; a comma list compares them side by side (docs/compare.md)", " (one per schedule)", 1))
		}
	})
	fs.StringVar(&c.id, "id", "", "the schedule's ID (default llmconc-<endpoint>-<model>); its runs are named <ID>-<scheduled time>")
	fs.DurationVar(&c.every, "every", 0, "how often a run starts, such as 1h or 24h (at least 1s, whole seconds): at the multiples of it since 1970-01-01 UTC")
	fs.BoolVar(&c.now, "now", false, "start a first run at once too, not only at the first multiple of -every")
	c.fs = fs
}

func (c *scheduleCreateCmd) devRefused() string {
	return "schedule create: a schedule needs a Temporal server and a worker that keep running; -dev's stop with the starter (see docs/schedules.md)"
}

// check builds and checks the runs' input as a run's, and the schedule's
// ID and interval: bad input creates nothing.
func (c *scheduleCreateCmd) check(args []string) (err error) {
	if len(args) > 0 {
		return badInput("schedule create: unexpected argument %q (run starter schedule create -h for the flags)", args[0])
	}
	switch {
	case c.every == 0:
		return badInput("schedule create: -every is required: how often a run starts, such as -every 1h")
	case c.every < MinEvery:
		return badInput("schedule create: -every must be at least %s (Temporal schedules to the second), got %s", MinEvery, c.every)
	case c.every%time.Second != 0:
		return badInput("schedule create: -every must be a whole number of seconds, got %s", c.every)
	}
	c.o.noteGiven(c.fs)
	if c.o.isComparison() {
		return badInput("schedule create: a schedule measures one endpoint and one model; for a comparison (-endpoint a,b or -model x,y) create one schedule per target, and compare their trends")
	}
	if c.in, err = c.o.runInput(); err != nil {
		return err
	}
	if c.in, err = c.o.cost.withCost(c.in, false); err != nil {
		return err
	}
	c.in = c.in.WithDefaults()
	c.id = cmp.Or(c.id, DefaultScheduleID(c.in.Endpoint, c.in.Model))
	return checkScheduleID("schedule create", c.id)
}

func (c *scheduleCreateCmd) exec(ctx context.Context, _ *devEnv, stdout, stderr io.Writer) error {
	if err := c.o.cost.approveSchedule(c.in, stderr, os.Stdin, interactive()); err != nil {
		return err
	}
	cl, copts, err := dial(ctx, nil, "", stderr)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := requireEndpoint(ctx, cl, copts.HostPort, c.o.taskQueue, c.in.Endpoint, workerWait, stdout); err != nil {
		return err
	}
	// As for a run: search attributes are stored in clear, so none with
	// payload encryption on.
	withAttributes := !codec.Enabled(os.Getenv) && searchAttributesRegistered(ctx, cl, copts.Namespace)
	h, err := cl.ScheduleClient().Create(ctx, c.options(withAttributes))
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return badInput("a schedule with ID %q already exists in namespace %q: choose another -id, or delete it first (`starter schedule delete %s`)", c.id, copts.Namespace, c.id)
	}
	if err != nil {
		return failed(fmt.Errorf("create schedule %s: %w", c.id, err))
	}
	var next []time.Time
	if desc, err := h.Describe(ctx); err == nil {
		next = desc.Info.NextActionTimes
	}
	c.report(stdout, next)
	if ui := strings.TrimRight(c.o.uiURL, "/"); uiAnswers(ui) {
		fmt.Fprintf(stdout, "Temporal UI (pause, trigger, edit): %s/namespaces/%s/schedules/%s\n", ui, copts.Namespace, c.id)
	}
	return nil
}

// options are the schedule's: its spec, its action (a run with c.in, on
// the task queue of -task-queue, with a run's memo, summary and, with
// withAttributes, search attributes), overlap policy skip.
func (c *scheduleCreateCmd) options(withAttributes bool) client.ScheduleOptions {
	in := c.in
	action := &client.ScheduleWorkflowAction{
		ID:        c.id,
		Workflow:  workflows.ConcurrencyTest,
		Args:      []any{in},
		TaskQueue: c.o.taskQueue,
		// A backstop behind the bounds of every wait, as for a run.
		WorkflowExecutionTimeout: in.ExecutionTimeout(),
		Memo:                     map[string]any{memoEndpoint: in.Endpoint, memoModel: in.Model},
		StaticSummary:            workflows.StaticSummary(in) + ", scheduled by " + c.id,
		StaticDetails:            workflows.StaticDetails(in),
	}
	if withAttributes {
		action.TypedSearchAttributes = workflows.StartSearchAttributes(in)
	}
	return client.ScheduleOptions{
		ID:     c.id,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: c.every}}},
		Action: action,
		// A run due while the previous one goes on would disturb it.
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		// A run missed while Temporal was down is made up once if it comes
		// back within an interval (a minute at least).
		CatchupWindow:      max(c.every, time.Minute),
		TriggerImmediately: c.now,
		Note:               "llmconc: " + workflows.StaticSummary(in),
		Memo:               map[string]any{memoEndpoint: in.Endpoint, memoModel: in.Model},
	}
}

// report says what was created, what it costs, when it runs, and how to
// follow, pause, trigger and delete it.
func (c *scheduleCreateCmd) report(w io.Writer, next []time.Time) {
	id := c.id
	fmt.Fprintf(w, "Created schedule %s: every %s, a run of %s.\n", id, formatEvery(c.every), workflows.StaticSummary(c.in))
	fmt.Fprintln(w, "Overlap policy: skip. A run due while the previous one is still going is skipped, not queued.")
	if c.in.ExecutionTimeout() > c.every {
		fmt.Fprintf(w, "A run may last up to %s (-timeout and its margins), longer than the interval: the runs due meanwhile are skipped.\n", c.in.ExecutionTimeout().Round(time.Second))
	}
	if c.in.CostEstimate != nil {
		fmt.Fprintln(w, strings.Replace(costLine(c.in, *c.in.CostEstimate, 1), "Cost estimate", "Cost estimate of each run", 1))
		if perDay := int(math.Ceil(float64(24*time.Hour) / float64(c.every))); perDay > 1 && c.in.CostEstimate.MaxUSD != nil {
			fmt.Fprintf(w, "At most %d runs a day: up to %s a day.\n", perDay, testrun.FormatUSD(*c.in.CostEstimate.Times(perDay).MaxUSD))
		}
	}
	if len(next) > 0 {
		var ts []string
		for _, t := range next[:min(3, len(next))] {
			ts = append(ts, t.UTC().Format("2006-01-02 15:04:05"))
		}
		fmt.Fprintf(w, "Next runs (UTC): %s\n", strings.Join(ts, ", "))
	}
	fmt.Fprintf(w, "Its runs are named %s-<scheduled time> and carry the search attribute %s = '%s'.\n\n", id, ScheduledByAttribute, id)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  starter trend -schedule %s\twhat changed over its runs\n", id)
	fmt.Fprintf(tw, "  starter schedule list\tthe schedules, their next run and last verdict\n")
	fmt.Fprintf(tw, "  temporal schedule toggle --schedule-id %s --pause --reason \"...\"\tpause it (--unpause resumes)\n", id)
	fmt.Fprintf(tw, "  temporal schedule trigger --schedule-id %s\ta run now\n", id)
	fmt.Fprintf(tw, "  starter schedule delete %s\tno more runs\n", id)
	tw.Flush()
}

// formatEvery is an interval as -every takes it, without zero units: 1h,
// 1h30m, 90s as 1m30s.
func formatEvery(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// approveSchedule decides whether a schedule of runs of in may be created,
// as approve does for one run, of each of its runs: refused over -max-cost
// (or with -max-cost and no price), and over ConfirmAboveUSD without
// -max-cost or -yes unless the person at the terminal says yes. The
// scheduled runs themselves never ask: there is no one to answer.
func (c costOptions) approveSchedule(in testrun.Input, ask io.Writer, answers io.Reader, terminal bool) error {
	if in.CostEstimate == nil {
		return nil
	}
	return c.approveEstimate(*in.CostEstimate, in.Model, costWords{
		nothing:  "no schedule was created",
		could:    "each run could cost",
		lower:    "-requests or -max-tokens",
		yes:      "give -yes to create it, or -max-cost USD to cap each run",
		question: "Each scheduled run could cost up to %s. Create the schedule? [y/N] ",
	}, ask, answers, terminal)
}

// scheduleListCmd lists the schedules whose action starts a run.
type scheduleListCmd struct{}

func (*scheduleListCmd) define(*flag.FlagSet) {}

func (*scheduleListCmd) check(args []string) error {
	if len(args) > 0 {
		return badInput("schedule list: unexpected argument %q (run starter schedule list -h)", args[0])
	}
	return nil
}

func (*scheduleListCmd) exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error {
	c, opts, err := dial(ctx, dev, "schedule list", stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return failed(fmt.Errorf("list the schedules: %w", err))
	}
	var rows [][]string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return failed(fmt.Errorf("list the schedules: %w", err))
		}
		if e.WorkflowType.Name != workflowName {
			continue // not a schedule of runs
		}
		rows = append(rows, scheduleRow(ctx, c, opts.DataConverter, e))
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "No schedule of runs in namespace %q (`starter schedule create -every 1h` makes one).\n", opts.Namespace)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE ID\tEVERY\tENDPOINT\tMODEL\tPAUSED\tNEXT RUN (UTC)\tLAST RUN (UTC)\tSTATUS\tLAST VERDICT")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// workflowName is the workflow type of a run.
const workflowName = "ConcurrencyTest"

// scheduleRow is a schedule's line in `starter schedule list`: the verdict
// of its last run is read as `starter list` reads it, from the run's
// result.
func scheduleRow(ctx context.Context, c client.Client, dc converter.DataConverter, e *client.ScheduleListEntry) []string {
	endpoint, model := memoStrings(dc, e.Memo)
	next := "-"
	if len(e.NextActionTimes) > 0 && !e.Paused {
		next = e.NextActionTimes[0].UTC().Format("2006-01-02 15:04:05")
	}
	last, status, verdict := "-", "-", "-"
	// The last run, and the verdict of the last one that finished (the
	// last run may still be going).
	for i := len(e.RecentActions) - 1; i >= 0 && verdict == "-"; i-- {
		a := e.RecentActions[i]
		if a.StartWorkflowResult == nil {
			continue
		}
		desc, err := c.DescribeWorkflow(ctx, a.StartWorkflowResult.WorkflowID, a.StartWorkflowResult.FirstExecutionRunID)
		if err != nil {
			break
		}
		row := listRowOf(ctx, c, dc, desc.RawResponse.GetWorkflowExecutionInfo())
		if last == "-" {
			last, status = a.ActualTime.UTC().Format("2006-01-02 15:04:05"), row.status
		}
		if row.status != "running" {
			verdict = row.verdict
		}
	}
	return []string{e.ID, specText(e.Spec), endpoint, model, fmt.Sprint(e.Paused), next, last, status, verdict}
}

// memoStrings reads the endpoint and the model from a schedule's memo ("-"
// for what it lacks).
func memoStrings(dc converter.DataConverter, m *commonpb.Memo) (endpoint, model string) {
	endpoint, model = "-", "-"
	if p := m.GetFields()[memoEndpoint]; p != nil {
		_ = dc.FromPayload(p, &endpoint)
	}
	if p := m.GetFields()[memoModel]; p != nil {
		_ = dc.FromPayload(p, &model)
	}
	return endpoint, model
}

// specText says when a schedule runs: its interval, or "calendar" for a
// spec edited into another form in the Temporal UI.
func specText(s *client.ScheduleSpec) string {
	if s == nil {
		return "-"
	}
	var parts []string
	for _, i := range s.Intervals {
		parts = append(parts, formatEvery(i.Every))
	}
	if len(s.Calendars) > 0 || len(s.CronExpressions) > 0 {
		parts = append(parts, "calendar")
	}
	return cmp.Or(strings.Join(parts, ","), "-")
}

// scheduleDeleteCmd deletes a schedule of runs.
type scheduleDeleteCmd struct{ id string }

func (*scheduleDeleteCmd) define(*flag.FlagSet) {}

func (d *scheduleDeleteCmd) check(args []string) error {
	if len(args) != 1 {
		return badInput("schedule delete takes one schedule ID, got %d arguments (starter schedule list shows them)", len(args))
	}
	d.id = args[0]
	return nil
}

func (d *scheduleDeleteCmd) exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error {
	c, opts, err := dial(ctx, dev, "schedule delete "+d.id, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	h := c.ScheduleClient().GetHandle(ctx, d.id)
	desc, err := describeSchedule(ctx, h, opts.Namespace)
	if err != nil {
		return err
	}
	if a, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.Workflow != workflowName {
		return badInput("schedule %q does not start runs of llmconc: not deleting it (`temporal schedule delete --schedule-id %s` would)", d.id, d.id)
	}
	if err := h.Delete(ctx); err != nil {
		return failed(fmt.Errorf("delete schedule %s: %w", d.id, err))
	}
	switch n := desc.Info.NumActions; n {
	case 0:
		fmt.Fprintf(stdout, "Deleted schedule %s: it starts no more runs. It had started none.\n", d.id)
	default:
		fmt.Fprintf(stdout, "Deleted schedule %s: it starts no more runs. Its %d runs stay in Temporal (`starter trend -schedule %s` reads them).\n", d.id, n, d.id)
	}
	for _, r := range desc.Info.RunningWorkflows {
		fmt.Fprintf(stdout, "Its run %s is still going and ends on its own (`starter -attach %s` follows it).\n", r.WorkflowID, r.WorkflowID)
	}
	return nil
}

// describeSchedule describes the schedule of h; an unknown one is bad
// input.
func describeSchedule(ctx context.Context, h client.ScheduleHandle, namespace string) (*client.ScheduleDescription, error) {
	desc, err := h.Describe(ctx)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return nil, badInput("no schedule %q in namespace %q (`starter schedule list` shows them)", h.GetID(), namespace)
	case err != nil:
		return nil, failed(fmt.Errorf("look up schedule %s: %w", h.GetID(), err))
	}
	return desc, nil
}
