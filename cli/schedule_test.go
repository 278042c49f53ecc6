package cli

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestScheduleAndTrendBadInput: each mistake is one line and exit 2, found
// before the starter connects to anything (the Temporal address is dead:
// a command that got past its checks would fail there, with its address
// in the line).
func TestScheduleAndTrendBadInput(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"schedule"}, "schedule takes a subcommand: create, list, delete"},
		{[]string{"schedule", "pause", "x"}, `unknown subcommand "pause"`},
		{[]string{"schedule", "create"}, "-every is required"},
		{[]string{"schedule", "create", "-every", "500ms"}, "-every must be at least 1s"},
		{[]string{"schedule", "create", "-every", "-1h"}, "-every must be at least 1s"},
		{[]string{"schedule", "create", "-every", "1500ms"}, "whole number of seconds"},
		{[]string{"schedule", "create", "-every", "1h", "-requests", "0"}, "-requests must be between 1"},
		{[]string{"schedule", "create", "-every", "1h", "-concurrency", "0"}, "-concurrency"},
		{[]string{"schedule", "create", "-every", "1h", "-id", "my schedule"}, `the schedule ID "my schedule" must be`},
		{[]string{"schedule", "create", "-every", "1h", "-out", "x.json"}, "flag provided but not defined: -out"},
		{[]string{"schedule", "create", "-every", "1h", "-repeat", "3"}, "flag provided but not defined: -repeat"},
		{[]string{"schedule", "create", "-every", "1h", "extra"}, `unexpected argument "extra"`},
		{[]string{"schedule", "create", "-every", "1h", "-model", "x,y"}, "one endpoint and one model"},
		{[]string{"schedule", "create", "-every", "1h", "-endpoint", "a,b"}, "one endpoint and one model"},
		{[]string{"schedule", "create", "-every", "1h", "-parallel-targets"}, "flag provided but not defined: -parallel-targets"},
		{[]string{"-dev", "schedule", "create", "-every", "1h"}, "-dev's stop with the starter"},
		{[]string{"schedule", "create", "-every", "1h", "-dev"}, "-dev's stop with the starter"},
		// The cost guards, per run, before anything is created.
		{[]string{"schedule", "create", "-every", "1h", "-model", "gpt-4.1", "-requests", "50", "-max-cost", "0.0001"}, "each run could cost up to"},
		{[]string{"schedule", "create", "-every", "1h", "-model", "no-such-model", "-max-cost", "1"}, "cannot be checked"},
		{[]string{"schedule", "list", "extra"}, `unexpected argument "extra"`},
		{[]string{"schedule", "delete"}, "takes one schedule ID"},
		{[]string{"schedule", "delete", "a", "b"}, "takes one schedule ID"},
		{[]string{"trend"}, "which runs? Give -schedule ID"},
		{[]string{"trend", "-schedule", "a", "-endpoint", "b"}, "not both"},
		{[]string{"trend", "-schedule", "a", "-model", "m"}, "not both"},
		{[]string{"trend", "-schedule", "a'b"}, "must be letters, digits"},
		{[]string{"trend", "-model", "m", "-n", "0"}, "-n must be between 1 and 1000, got 0"},
		{[]string{"trend", "-model", "m", "-n", "1001"}, "-n must be between 1 and 1000"},
		{[]string{"trend", "-model", "m", "-html", t.TempDir()}, "it is a folder"},
		{[]string{"trend", "-model", "m", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.args...)
			if code != ExitBadInput || stdout != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, stdout, ExitBadInput)
			}
			line := oneErrorLine(t, stderr)
			if !strings.Contains(line, tc.want) || strings.Contains(line, deadAddress) {
				t.Errorf("error %q: want %q, before connecting", line, tc.want)
			}
		})
	}
}

// TestScheduleCommandsUnreachable: with the checks passed, an unreachable
// Temporal server is one line naming its address, exit 2.
func TestScheduleCommandsUnreachable(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{
		{"schedule", "list"}, {"schedule", "delete", "x"}, {"trend", "-schedule", "x"}, {"trend", "-model", "m"},
	} {
		code, _, stderr := runMain(t, args...)
		if line := oneErrorLine(t, stderr); code != ExitBadInput || !strings.Contains(line, deadAddress) {
			t.Errorf("%q: exit %d, %q; want 2 and the address", args, code, line)
		}
	}
}

// TestScheduleVerbsHelp: `starter schedule -h` lists the subcommands, and
// each one's -h its examples, each of which parses.
func TestScheduleVerbsHelp(t *testing.T) {
	isolate(t)
	code, _, stderr := runMain(t, "schedule", "-h")
	if code != ExitOK {
		t.Errorf("schedule -h: exit %d", code)
	}
	for _, v := range scheduleInfo.verbs {
		if !strings.Contains(stderr, "starter "+v.name) {
			t.Errorf("schedule -h lacks %q:\n%s", v.name, stderr)
		}
		verb := strings.TrimPrefix(v.name, "schedule ")
		code, _, help := runMain(t, "schedule", verb, "-h")
		if code != ExitOK || !strings.Contains(help, "Usage: starter [-dev] "+v.name) {
			t.Errorf("schedule %s -h: exit %d\n%s", verb, code, help)
		}
		for _, e := range v.examples {
			if !strings.Contains(help, "  "+e+"\n") {
				t.Errorf("schedule %s -h lacks its example %q", verb, e)
			}
			args := strings.Fields(e)[3:]
			if _, _, err := parseCommand(&v, false, args, io.Discard); err != nil {
				t.Errorf("example %q does not parse: %v", e, err)
			}
		}
	}
}

// scheduleCreate parses and checks `starter schedule create args`.
func scheduleCreate(t *testing.T, args ...string) *scheduleCreateCmd {
	t.Helper()
	cmd, _, err := parseCommand(&scheduleCreateInfo, false, args, io.Discard)
	if err != nil {
		t.Fatalf("schedule create %q: %v", args, err)
	}
	return cmd.(*scheduleCreateCmd)
}

// TestScheduleInputIsARunsInput: the scheduled runs' input is the one a
// run with the same flags starts with, resolved and checked the same way.
func TestScheduleInputIsARunsInput(t *testing.T) {
	isolate(t)
	flags := []string{"-requests", "7", "-concurrency", "3", "-model", "gpt-4.1-mini", "-endpoint", "groq", "-stream=false", "-max-tokens", "64", "-warmup", "0", "-retry", "backoff", "-slo", "latency=5s"}
	c := scheduleCreate(t, append([]string{"-every", "1h"}, flags...)...)

	o, err := parseFlags(flags, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.plan(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := p.in.WithDefaults(); !reflect.DeepEqual(c.in, want) {
		t.Errorf("the schedule's input\n%+v\ndiffers from a run's\n%+v", c.in, want)
	}
	if c.id != "llmconc-groq-gpt-4.1-mini" {
		t.Errorf("default ID %q", c.id)
	}
}

// TestScheduleOptions: every interval, a ConcurrencyTest run with the
// input on the task queue, overlap policy skip, the run's memo, summary
// and (when the server has them) search attributes.
func TestScheduleOptions(t *testing.T) {
	isolate(t)
	c := scheduleCreate(t, "-id", "nightly", "-every", "24h", "-requests", "5", "-task-queue", "q2", "-now")
	o := c.options(true)
	if o.ID != "nightly" || len(o.Spec.Intervals) != 1 || o.Spec.Intervals[0].Every != 24*time.Hour {
		t.Errorf("ID %q, spec %+v", o.ID, o.Spec)
	}
	if o.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP || !o.TriggerImmediately || o.CatchupWindow != 24*time.Hour {
		t.Errorf("overlap %v, trigger now %v, catch-up %v", o.Overlap, o.TriggerImmediately, o.CatchupWindow)
	}
	a, ok := o.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		t.Fatalf("action %T", o.Action)
	}
	if a.ID != "nightly" || a.TaskQueue != "q2" || reflect.ValueOf(a.Workflow).Pointer() != reflect.ValueOf(workflows.ConcurrencyTest).Pointer() {
		t.Errorf("action ID %q, queue %q, workflow %v", a.ID, a.TaskQueue, a.Workflow)
	}
	if len(a.Args) != 1 || !reflect.DeepEqual(a.Args[0], c.in) || c.in.Requests != 5 {
		t.Errorf("action args %+v", a.Args)
	}
	if a.WorkflowExecutionTimeout != c.in.ExecutionTimeout() || a.Memo[memoEndpoint] != "default" || a.Memo[memoModel] != DefaultModel {
		t.Errorf("timeout %v, memo %v", a.WorkflowExecutionTimeout, a.Memo)
	}
	if !strings.HasSuffix(a.StaticSummary, ", scheduled by nightly") || a.TypedSearchAttributes.Size() != 3 {
		t.Errorf("summary %q, %d search attributes", a.StaticSummary, a.TypedSearchAttributes.Size())
	}
	if c.options(false).Action.(*client.ScheduleWorkflowAction).TypedSearchAttributes.Size() != 0 {
		t.Error("search attributes set on a server that lacks them")
	}
	// A short interval catches up for a minute at least.
	if got := scheduleCreate(t, "-every", "2s").options(false).CatchupWindow; got != time.Minute {
		t.Errorf("catch-up window of -every 2s: %v", got)
	}
}

// TestApproveSchedule: the cost guards of each scheduled run, decided once
// at creation.
func TestApproveSchedule(t *testing.T) {
	usd, cheapUSD := 3.0, 0.5
	dear := testrun.Input{Model: "gpt-4.1", CostEstimate: &testrun.CostEstimate{Requests: 1000, MaxUSD: &usd}}
	cheap := testrun.Input{Model: "gpt-4.1", CostEstimate: &testrun.CostEstimate{Requests: 10, MaxUSD: &cheapUSD}}
	for _, tt := range []struct {
		name     string
		c        costOptions
		in       testrun.Input
		terminal bool
		answer   string
		want     string // "" for approved
	}{
		{"cheap", costOptions{}, cheap, false, "", ""},
		{"dear, no terminal", costOptions{}, dear, false, "", "give -yes to create it"},
		{"dear, -yes", costOptions{yes: true}, dear, false, "", ""},
		{"dear, over -max-cost", costOptions{maxCost: usdFlag{2, true}, yes: true}, dear, false, "", "over -max-cost $2: no schedule was created"},
		{"dear, under -max-cost", costOptions{maxCost: usdFlag{5, true}}, dear, false, "", ""},
		{"dear, terminal says y", costOptions{}, dear, true, "y\n", ""},
		{"dear, terminal says n", costOptions{}, dear, true, "n\n", "not confirmed: no schedule was created"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ask bytes.Buffer
			err := tt.c.approveSchedule(tt.in, &ask, strings.NewReader(tt.answer), tt.terminal)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || ExitCode(err) != ExitBadInput || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want exit 2 and %q", err, tt.want)
			}
			if tt.terminal && !strings.Contains(ask.String(), "Each scheduled run could cost up to $3.0000. Create the schedule?") {
				t.Errorf("question %q", ask.String())
			}
		})
	}
}

func TestFormatEvery(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 90 * time.Minute: "1h30m", 2 * time.Second: "2s", 90 * time.Second: "1m30s", 24 * time.Hour: "24h", 10 * time.Minute: "10m",
	} {
		if got := formatEvery(d); got != want {
			t.Errorf("formatEvery(%v) = %q, want %q", d, got, want)
		}
	}
}
