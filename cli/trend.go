package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// DefaultTrendRuns is trend's -n.
const DefaultTrendRuns = 50

// MaxTrendRuns bounds trend's -n: each run's history is read.
const MaxTrendRuns = 1000

var trendInfo = commandInfo{
	name:  "trend",
	args:  "[-schedule ID | -endpoint NAME -model M] [-n 50] [-html FILE] [-json]",
	short: "a series of finished runs, one line each, and what changed",
	about: "The latest finished runs of a schedule (-schedule), or of an endpoint and a model (-endpoint, -model; the one not\n" +
		"given is the run's default), found with a visibility query and read from their histories as `starter result`\n" +
		"reads them: one line per run, oldest first (start, verdict, speedup, effective parallelism, latency p50 and p95\n" +
		"of the concurrent pass, 429s), then what changed (docs/schedules.md says how it is decided). -html writes a\n" +
		"self-contained page plotting them over time, -json prints the trend as JSON. Sends no request.",
	examples: []string{
		"starter trend -schedule llmconc-default-gpt-4.1-nano",
		"starter trend -endpoint groq -model llama-3.1-8b-instant -n 20 -html trend.html",
		"starter -dev trend -model gpt-4.1-nano",
	},
	new: func() subcommand { return &trendCmd{} },
}

// trendCmd reads a series of runs and says what changed.
type trendCmd struct {
	schedule, endpoint, model string
	n                         int
	html                      string
	jsonOut                   bool
}

func (t *trendCmd) define(fs *flag.FlagSet) {
	fs.StringVar(&t.schedule, "schedule", "", "the runs of the schedule with this ID")
	fs.StringVar(&t.endpoint, "endpoint", "", "the runs on this endpoint (with -model, or the model's default "+DefaultModel+")")
	fs.StringVar(&t.model, "model", "", "the runs of this model (with -endpoint, or the endpoint \""+record.DefaultEndpoint+"\")")
	fs.IntVar(&t.n, "n", DefaultTrendRuns, fmt.Sprintf("how many runs: the latest finished ones (1 to %d)", MaxTrendRuns))
	fs.StringVar(&t.html, "html", "", "write a self-contained page plotting the runs over time to this file")
	fs.BoolVar(&t.jsonOut, "json", false, "print the trend as JSON to stdout (the table goes to stderr)")
}

func (t *trendCmd) check(args []string) error {
	if len(args) > 0 {
		return badInput("trend: unexpected argument %q (run starter trend -h for the flags)", args[0])
	}
	if t.n < 1 || t.n > MaxTrendRuns {
		return badInput("trend: -n must be between 1 and %d, got %d", MaxTrendRuns, t.n)
	}
	switch {
	case t.schedule != "" && (t.endpoint != "" || t.model != ""):
		return badInput("trend: give -schedule, or -endpoint and -model, not both: a schedule's runs have its endpoint and model")
	case t.schedule != "":
		if err := checkScheduleID("trend", t.schedule); err != nil {
			return err
		}
	case t.endpoint == "" && t.model == "":
		return badInput("trend: which runs? Give -schedule ID, or -endpoint NAME and/or -model M (run starter trend -h)")
	default:
		t.endpoint, t.model = cmp.Or(strings.TrimSpace(t.endpoint), record.DefaultEndpoint), cmp.Or(strings.TrimSpace(t.model), DefaultModel)
	}
	if t.html != "" {
		return checkWritable(t.html)
	}
	return nil
}

// safeQueryValue is what may go into a visibility query between quotes.
var safeQueryValue = regexp.MustCompile(`^[A-Za-z0-9._:/@+-]+$`)

func (t *trendCmd) exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error {
	human := stdout
	if t.jsonOut {
		human = stderr
	}
	c, opts, err := dial(ctx, dev, "trend", stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	conn := connOf(c, opts)
	title, query := t.selection(ctx, conn)
	var sched *client.ScheduleDescription
	if t.schedule != "" {
		// A deleted schedule's runs stay: its trend still reads them.
		if sched, err = describeSchedule(ctx, c.ScheduleClient().GetHandle(ctx, t.schedule), opts.Namespace); err != nil && ExitCode(err) != ExitBadInput {
			return err
		}
		title = t.scheduleTitle(sched, opts)
	}
	runs, skipped, keyErr, err := t.collect(ctx, conn, query)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		if t.schedule != "" && sched == nil {
			return badInput("no schedule %q in namespace %q, and no run by one of that ID (`starter schedule list` shows the schedules)", t.schedule, opts.Namespace)
		}
		fmt.Fprintf(human, "%s: no finished run yet.%s\n", title, skippedNote(skipped))
	} else {
		fmt.Fprintf(human, "%s: the %d latest finished runs, oldest first.%s\n\n", title, len(runs), skippedNote(skipped))
	}
	s := analysis.SummarizeTrend(runs)
	if len(runs) > 0 {
		report.WriteTrend(human, runs, s)
	}
	if keyErr != nil {
		fmt.Fprintf(stderr, "Some runs are encrypted and show no figures: %v\n", keyErr)
	}
	if t.html != "" && len(runs) > 0 {
		if err := htmlreport.WriteTrendFile(t.html, title, runs, s); err != nil {
			return failed(err)
		}
		fmt.Fprintf(human, "Trend page: %s\n", t.html)
	}
	if t.jsonOut {
		if err := report.EncodeTrend(stdout, report.TrendDocumentOf(title, runs, s)); err != nil {
			return failed(err)
		}
	}
	return nil
}

// skippedNote says how many runs of the endpoint and model were left out
// as no comparison of both passes.
func skippedNote(skipped int) string {
	if skipped == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d other runs of them, not comparisons of both passes (a sweep, one pass, a rerun of failed requests), are left out.)", skipped)
}

// selection is the trend's title and its visibility query: the finished
// runs of the schedule, or of the model (by its search attribute, when the
// server has it and runs carry it).
func (t *trendCmd) selection(ctx context.Context, conn temporalConn) (title, query string) {
	query = "WorkflowType = '" + workflowName + "' AND ExecutionStatus != 'Running'"
	if t.schedule != "" {
		return "Schedule " + t.schedule, query + " AND " + ScheduledByAttribute + " = '" + t.schedule + "'"
	}
	title = fmt.Sprintf("Model %s on endpoint %s", t.model, t.endpoint)
	if !codec.Enabled(os.Getenv) && safeQueryValue.MatchString(t.model) && searchAttributesRegistered(ctx, conn.client, conn.namespace) {
		query += " AND " + workflows.ModelAttribute.GetName() + " = '" + t.model + "'"
	}
	return title, query
}

// scheduleTitle names the schedule, its interval, endpoint and model, or
// says it is deleted.
func (t *trendCmd) scheduleTitle(desc *client.ScheduleDescription, opts client.Options) string {
	if desc == nil {
		return "Schedule " + t.schedule + " (deleted)"
	}
	endpoint, model := memoStrings(opts.DataConverter, desc.Memo)
	return fmt.Sprintf("Schedule %s (every %s, model %s on endpoint %s)", t.schedule, specText(desc.Schedule.Spec), model, endpoint)
}

// collect reads the latest t.n finished runs that query finds (and, for
// an endpoint and model, that match them and compare both passes), oldest
// first. skipped counts the runs of the endpoint and model left out;
// keyErr is why some runs could not be decrypted.
func (t *trendCmd) collect(ctx context.Context, conn temporalConn, query string) (runs []analysis.TrendRun, skipped int, keyErr error, err error) {
	var token []byte
	for len(runs) < t.n {
		resp, err := conn.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: conn.namespace, PageSize: 100, NextPageToken: token, Query: query,
		})
		if err != nil {
			var inv *serviceerror.InvalidArgument
			if errors.As(err, &inv) {
				return nil, 0, nil, badInput("the Temporal server refused the trend's query %q: %v", query, err)
			}
			return nil, 0, nil, failed(fmt.Errorf("list the runs: %w", err))
		}
		for _, ex := range resp.GetExecutions() {
			if len(runs) == t.n {
				break
			}
			r, match, kerr := t.runOf(ctx, conn, ex)
			if kerr != nil && keyErr == nil {
				keyErr = kerr
			}
			switch match {
			case matched:
				runs = append(runs, r)
			case otherKind:
				skipped++
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	slices.SortStableFunc(runs, func(a, b analysis.TrendRun) int { return a.Start.Compare(b.Start) })
	return runs, skipped, keyErr, nil
}

// How a run found by the query matches the trend.
const (
	matched   = iota
	otherRun  // another endpoint or model
	otherKind // the endpoint and model, but no comparison of both passes
)

// runOf reads the trend's line of run ex as `starter result` reads a run:
// its result, and its records from its history. A run without a result has
// a line saying why.
func (t *trendCmd) runOf(ctx context.Context, conn temporalConn, ex *workflowpb.WorkflowExecutionInfo) (analysis.TrendRun, int, error) {
	id, runID := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
	start := ex.GetStartTime().AsTime()
	if t.schedule == "" {
		endpoint, model := memoStrings(conn.dc, ex.GetMemo())
		if (endpoint != "-" && endpoint != t.endpoint) || (model != "-" && model != t.model) {
			return analysis.TrendRun{}, otherRun, nil
		}
	}
	switch ex.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
	default:
		if t.schedule == "" {
			return analysis.TrendRun{}, otherRun, nil // its model is not known for sure
		}
		return report.NoResultRun(id, start, statusName(ex.GetStatus())), matched, nil
	}
	var r testrun.Result
	err := conn.client.GetWorkflow(ctx, id, runID).Get(ctx, &r)
	if r, err = (outcome{r, err}).decode(id); err != nil {
		if _, ok := codec.IsKeyError(err); ok {
			return report.NoResultRun(id, start, "encrypted"), matched, err
		}
		return report.NoResultRun(id, start, "no result: "+oneLine(err.Error())), matched, nil
	}
	if t.schedule == "" {
		in := r.Config.WithDefaults()
		switch {
		case in.Endpoint != t.endpoint || in.Model != t.model:
			return analysis.TrendRun{}, otherRun, nil
		case in.Passes != testrun.PassesBoth || len(in.Sweep) > 0 || in.Probe != nil || in.Only != nil:
			return analysis.TrendRun{}, otherKind, nil
		}
	}
	if err := history.ReadRecords(ctx, conn.client, conn.dc, id, runID, &r); err != nil {
		return report.NoResultRun(id, start, "its records cannot be read: "+oneLine(err.Error())), matched, nil
	}
	return report.TrendRunOf(report.Build(id, runID, r), start), matched, nil
}
