package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/llmconc/llmconc/devserver"
)

// TestScheduleTrendAndDelete: `starter schedule create -every 2s` makes a
// Temporal Schedule whose runs (against the simulator binary, through the
// worker binary, on a task queue of the test's own) pile up; `schedule
// list` shows it; the Temporal CLI's documented commands pause it, trigger
// a run and resume it; `trend -schedule ID` lists its runs, oldest first,
// and writes the trend page; `schedule delete ID` deletes it, after which
// no run starts.
func TestScheduleTrendAndDelete(t *testing.T) {
	cli, ok := devserver.FindCLI()
	if !ok {
		t.Fatal("no Temporal CLI")
	}
	key := "e2e-key-" + randHex(8)
	base := startSimulatorProcess(t, "-latency", "100ms", "-api-key", key)
	queue := "e2e-schedule-" + randHex(4)
	startProc(t, "worker", workerBin, binEnv("OPENAI_API_KEY="+key, "OPENAI_BASE_URL="+base), "-task-queue", queue)
	id := "e2e-sched-" + randHex(4)
	t.Cleanup(func() { stopSchedule(t, id) })

	p, code := runStarter(t, time.Minute, "schedule", "create", "-id", id, "-every", "2s",
		"-requests", "3", "-max-tokens", "8", "-warmup", "0", "-task-queue", queue)
	if code != 0 {
		t.Fatalf("schedule create exited %d\n%s", code, p.output())
	}
	for _, want := range []string{"Created schedule " + id + ": every 2s", "Overlap policy: skip", "TemporalScheduledById = '" + id + "'",
		"temporal schedule toggle --schedule-id " + id + " --pause"} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Errorf("schedule create's output lacks %q:\n%s", want, p.stdout.String())
		}
	}
	// The same ID again is refused.
	p, code = runStarter(t, time.Minute, "schedule", "create", "-id", id, "-every", "2s", "-task-queue", queue)
	if code != 2 || !strings.Contains(p.stderr.String(), "already exists") {
		t.Errorf("a second schedule %s: exit %d, %q; want 2 and one clear line", id, code, p.stderr.String())
	}

	byID := "TemporalScheduledById = '" + id + "'"
	waitCount(t, byID+" AND ExecutionStatus = 'Completed'", func(n int64) bool { return n >= 2 }, "two completed runs")

	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+2s\s+default\s+gpt-4\.1-nano\s+false\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\w+\s+\S+\s*$`)
	waitStarter(t, "schedule list shows "+id, func(out string) bool { return row.MatchString(out) }, "schedule", "list")

	// Pause, trigger and resume with the Temporal CLI, as docs/schedules.md
	// shows. A trigger while a run is going is skipped (overlap policy
	// skip): it is given once none is.
	temporalCLI(t, cli, "schedule", "toggle", "--schedule-id", id, "--pause", "--reason", "maintenance window")
	paused := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+2s\s+default\s+gpt-4\.1-nano\s+true\s+-\s`)
	waitStarter(t, "schedule list shows "+id+" paused", func(out string) bool { return paused.MatchString(out) }, "schedule", "list")
	waitCount(t, byID+" AND ExecutionStatus = 'Running'", func(n int64) bool { return n == 0 }, "no run going")
	before := count(t, byID)
	temporalCLI(t, cli, "schedule", "trigger", "--schedule-id", id)
	waitCount(t, byID, func(n int64) bool { return n > before }, "the triggered run")
	temporalCLI(t, cli, "schedule", "toggle", "--schedule-id", id, "--unpause", "--reason", "done")
	if out := temporalCLI(t, cli, "workflow", "list", "--query", byID).stdout.String(); !strings.Contains(out, id+"-") {
		t.Errorf("temporal workflow list --query %q lists no run of the schedule:\n%s", byID, out)
	}
	waitCount(t, byID+" AND ExecutionStatus = 'Completed'", func(n int64) bool { return n >= before+2 }, "runs after the pause")

	// The trend: every finished run, oldest first, and what changed.
	page := filepath.Join(t.TempDir(), "trend.html")
	p, code = runStarter(t, time.Minute, "trend", "-schedule", id, "-html", page)
	if code != 0 {
		t.Fatalf("trend exited %d\n%s", code, p.output())
	}
	out := p.stdout.String()
	line := regexp.MustCompile(`(?m)^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(?:concurrent|partially_concurrent|serialized|inconclusive)\s+\d+\.\d\dx\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d\s+0\s+(` + regexp.QuoteMeta(id) + `-\S+)$`)
	runs := line.FindAllStringSubmatch(out, -1)
	if len(runs) < 3 {
		t.Fatalf("trend lists %d runs of %s, want at least 3 (two, and the triggered one):\n%s", len(runs), id, out)
	}
	for i := 1; i < len(runs); i++ {
		if runs[i][1] < runs[i-1][1] {
			t.Errorf("trend's runs are not oldest first: %s after %s", runs[i][1], runs[i-1][1])
		}
	}
	finished := listIDs(t, byID+" AND ExecutionStatus != 'Running'")
	for _, r := range runs {
		if !finished[r[2]] {
			t.Errorf("trend lists %s, which is no finished run of schedule %s", r[2], id)
		}
	}
	if !strings.HasPrefix(out, "Schedule "+id+" (every 2s, model gpt-4.1-nano on endpoint default)") || !strings.Contains(out, "\nWhat changed: ") {
		t.Errorf("trend's output lacks its title or its closing line:\n%s", out)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `data-metric="speedup" data-run="`+id+`-`); n != len(runs) {
		t.Errorf("the trend page has %d speedup points, want %d", n, len(runs))
	}

	// -json: the same runs, as JSON on stdout (the table on stderr).
	p, code = runStarter(t, time.Minute, "trend", "-schedule", id, "-n", "2", "-json")
	var doc struct {
		Runs []struct {
			WorkflowID string   `json:"workflow_id"`
			Speedup    *float64 `json:"speedup"`
			Count429   *int     `json:"count_429"`
		} `json:"runs"`
		Changed string `json:"changed"`
	}
	if err := json.Unmarshal(p.stdout.Bytes(), &doc); code != 0 || err != nil || len(doc.Runs) != 2 || doc.Changed == "" ||
		!strings.HasPrefix(doc.Runs[0].WorkflowID, id+"-") || doc.Runs[0].Speedup == nil || doc.Runs[0].Count429 == nil ||
		!strings.Contains(p.stderr.String(), "What changed: ") {
		t.Errorf("trend -json: exit %d, decode error %v, %+v\n%s", code, err, doc, p.output())
	}

	// By endpoint and model: the latest runs of the model on the endpoint,
	// the schedule's among them (it is still making them).
	p, code = runStarter(t, time.Minute, "trend", "-endpoint", "default", "-model", "gpt-4.1-nano", "-n", "3")
	anyRun := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?\s+\w+\s+.*\s(\S+)$`)
	if byModel := anyRun.FindAllStringSubmatch(p.stdout.String(), -1); code != 0 || len(byModel) != 3 ||
		!strings.HasPrefix(p.stdout.String(), "Model gpt-4.1-nano on endpoint default: the 3 latest finished runs") ||
		!strings.Contains(p.stdout.String(), " "+id+"-") {
		t.Errorf("trend -endpoint default -model gpt-4.1-nano -n 3: exit %d, %d runs, want 3, the schedule's among them\n%s", code, len(byModel), p.output())
	}

	// Deleting it: gone, and no run starts after it.
	p, code = runStarter(t, time.Minute, "schedule", "delete", id)
	deletedAt := time.Now()
	if code != 0 {
		t.Fatalf("schedule delete exited %d\n%s", code, p.output())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var nf *serviceerror.NotFound
	if _, err := tc.ScheduleClient().GetHandle(ctx, id).Describe(ctx); !errors.As(err, &nf) {
		t.Errorf("schedule %s is still there after schedule delete: %v", id, err)
	}
	m := regexp.MustCompile(`Its (\d+) runs stay`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("schedule delete does not say how many runs stay:\n%s", p.stdout.String())
	}
	taken, _ := strconv.ParseInt(m[1], 10, 64)
	waitCount(t, byID, func(n int64) bool { return n >= taken }, fmt.Sprintf("the %d runs the schedule took", taken))
	waitStarter(t, "schedule list without "+id, func(out string) bool { return !strings.Contains(out, id) }, "schedule", "list")
	p, code = runStarter(t, time.Minute, "schedule", "delete", id)
	if code != 2 || !strings.Contains(p.stderr.String(), "no schedule") {
		t.Errorf("deleting it again: exit %d, %q; want 2 and one clear line", code, p.stderr.String())
	}

	// The window is not a synchronising sleep: nothing is awaited, the
	// claim is that nothing happens. It watches the count through three
	// intervals of the schedule, so that a schedule still there would have
	// started a run in it, and it fails at once if one starts.
	n0 := count(t, byID)
	window := time.NewTimer(3 * 2 * time.Second)
	defer window.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for watching := true; watching; {
		select {
		case <-window.C:
			watching = false
		case <-tick.C:
		}
		if n := count(t, byID); n != n0 {
			t.Fatalf("schedule %s was deleted, yet its runs went from %d to %d", id, n0, n)
		}
	}
	for wid, start := range startTimes(t, byID) {
		if start.After(deletedAt) {
			t.Errorf("run %s started at %s, after the schedule was deleted (%s)", wid, start, deletedAt)
		}
	}
	// Its runs stay: the trend of a deleted schedule still reads them.
	p, code = runStarter(t, time.Minute, "trend", "-schedule", id, "-n", "2")
	if code != 0 || !strings.HasPrefix(p.stdout.String(), "Schedule "+id+" (deleted): the 2 latest finished runs") {
		t.Errorf("trend of the deleted schedule: exit %d\n%s", code, p.output())
	}
	p, code = runStarter(t, time.Minute, "trend", "-schedule", "no-such-schedule-"+randHex(4))
	if code != 2 || !strings.Contains(p.stderr.String(), "no schedule") {
		t.Errorf("trend of an unknown schedule: exit %d, %q; want 2 and one clear line", code, p.stderr.String())
	}
}

// stopSchedule deletes schedule id if it is still there and terminates its
// runs still going, so that a failed test leaves nothing running.
func stopSchedule(t *testing.T, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = tc.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
	for wid := range listIDs(t, "TemporalScheduledById = '"+id+"' AND ExecutionStatus = 'Running'") {
		_ = tc.TerminateWorkflow(ctx, wid, "", "test over")
	}
}

// temporalCLI runs the Temporal CLI against the test's dev server.
func temporalCLI(t *testing.T, cli string, args ...string) *proc {
	t.Helper()
	p := startProc(t, "temporal "+strings.Join(args, " "), cli, binEnv(), append(args, "--address", devAddr)...)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("temporal %s: exit %d\n%s", strings.Join(args, " "), code, p.output())
	}
	return p
}

// count is the number of runs the visibility query finds.
func count(t *testing.T, query string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: query})
	if err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return resp.GetCount()
}

// waitCount polls the count of query until ok, for at most two minutes.
func waitCount(t *testing.T, query string, ok func(int64) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n := count(t, query)
		if ok(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 minutes for %s: %q counts %d", what, query, n)
		}
		poll := time.NewTimer(200 * time.Millisecond)
		<-poll.C
	}
}

// waitStarter runs the starter with args until its stdout satisfies ok, for
// at most a minute (a schedule's listing is eventually consistent).
func waitStarter(t *testing.T, what string, ok func(string) bool, args ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p, code := runStarter(t, time.Minute, args...)
		if code == 0 && ok(p.stdout.String()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s: starter %s exited %d\n%s", what, strings.Join(args, " "), code, p.output())
		}
		poll := time.NewTimer(200 * time.Millisecond)
		<-poll.C
	}
}

// listIDs is the workflow IDs of the runs the query finds.
func listIDs(t *testing.T, query string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for id := range startTimes(t, query) {
		ids[id] = true
	}
	return ids
}

// startTimes is the start time of each run the query finds, by workflow ID.
func startTimes(t *testing.T, query string) map[string]time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[string]time.Time{}
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query, NextPageToken: token})
		if err != nil {
			t.Fatalf("list %q: %v", query, err)
		}
		for _, ex := range resp.GetExecutions() {
			out[ex.GetExecution().GetWorkflowId()] = ex.GetStartTime().AsTime()
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out
		}
	}
}
