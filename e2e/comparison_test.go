package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// comparisonDoc is a comparison's JSON as docs/result-json.md names its
// fields.
type comparisonDoc struct {
	SchemaVersion   int    `json:"schema_version"`
	Kind            string `json:"kind"`
	WorkflowID      string `json:"workflow_id"`
	ParallelTargets bool   `json:"parallel_targets"`
	RerunOf         string `json:"rerun_of"`
	ComparisonTable []struct {
		Target               int      `json:"target"`
		Endpoint             string   `json:"endpoint"`
		Model                string   `json:"model"`
		WorkflowID           string   `json:"workflow_id"`
		Verdict              string   `json:"verdict"`
		Speedup              *float64 `json:"speedup"`
		EffectiveParallelism *float64 `json:"effective_parallelism"`
		LatencyP50Seconds    *float64 `json:"latency_p50_seconds"`
		LatencyP95Seconds    *float64 `json:"latency_p95_seconds"`
		TTFTP50Seconds       *float64 `json:"ttft_p50_seconds"`
		Count429             int      `json:"count_429"`
		Error                string   `json:"error"`
	} `json:"comparison_table"`
	Targets []json.RawMessage `json:"targets"`
}

// readComparison reads a comparison's JSON file, and each target's
// document as a run's.
func readComparison(t *testing.T, path string) (comparisonDoc, []resultDoc) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the comparison's JSON: %v", err)
	}
	var d comparisonDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode the comparison's JSON: %v\n%s", err, b)
	}
	var targets []resultDoc
	for _, raw := range d.Targets {
		_, td := decodeDoc(t, raw)
		targets = append(targets, td)
	}
	return d, targets
}

// comparisonWorker starts two simulator processes (an unlimited one and
// one that serves a request at a time, or as args say) and a worker that
// allow-lists them under the names given, each with its own key.
func comparisonWorker(t *testing.T, names [2]string, args [2][]string) *proc {
	t.Helper()
	var entries, env []string
	for i, name := range names {
		key := "e2e-cmp-key-" + randHex(8)
		base := startSimulatorProcess(t, append([]string{"-api-key", key, "-seed", "1"}, args[i]...)...)
		keyEnv := "CMP_KEY_" + string(rune('A'+i))
		entries = append(entries, `{"name": "`+name+`", "base_url": "`+base+`", "key_env": "`+keyEnv+`"}`)
		env = append(env, keyEnv+"="+key)
	}
	w := startProc(t, "worker", workerBin, binEnv(append(env, "LLMCONC_ENDPOINTS=["+strings.Join(entries, ",")+"]")...))
	waitPolling(t, w, names[0])
	return w
}

// childTimes returns when each child workflow started and closed, and
// checks that its parent is the comparison.
func childTimes(t *testing.T, parent string, ids []string) (starts, closes []time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range ids {
		desc, err := tc.DescribeWorkflow(ctx, id, "")
		if err != nil {
			t.Fatalf("describe child %s: %v", id, err)
		}
		info := desc.RawResponse.GetWorkflowExecutionInfo()
		if got := info.GetParentExecution().GetWorkflowId(); got != parent {
			t.Errorf("child %s has parent %q, want %q", id, got, parent)
		}
		starts = append(starts, info.GetStartTime().AsTime())
		closes = append(closes, info.GetCloseTime().AsTime())
	}
	return starts, closes
}

// TestComparisonOfTwoEndpoints compares an unlimited and a serial simulator
// endpoint in one report: one after another, the first `concurrent`, the
// second `serialized`; `starter result` rebuilds the same table from the
// histories; `starter rerun` starts the same comparison anew; and with
// -parallel-targets the two children run at once.
func TestComparisonOfTwoEndpoints(t *testing.T) {
	sim := []string{"-latency", "200ms", "-per-token", "20ms"}
	comparisonWorker(t, [2]string{"cmp-unlimited", "cmp-serial"}, [2][]string{sim, append(sim, "-max-concurrent", "1")})
	dir := t.TempDir()
	id := "e2e-cmp-" + randHex(4)
	out := filepath.Join(dir, "cmp.json")
	p, code := runStarter(t, 3*time.Minute, "-endpoint", "cmp-unlimited,cmp-serial", "-model", "gpt-4.1-nano", "-requests", "4", "-max-tokens", "16", "-id", id, "-out", out)
	if code != 0 {
		t.Fatalf("the comparison exited %d\n%s", code, p.output())
	}
	d, targets := readComparison(t, out)
	if d.Kind != "comparison" || d.SchemaVersion != 1 || d.WorkflowID != id || d.ParallelTargets {
		t.Errorf("kind %q, schema %d, workflow_id %q, parallel %v", d.Kind, d.SchemaVersion, d.WorkflowID, d.ParallelTargets)
	}
	if len(d.ComparisonTable) != 2 || len(targets) != 2 {
		t.Fatalf("%d rows and %d targets, want 2 each", len(d.ComparisonTable), len(targets))
	}
	want := []struct{ endpoint, verdict string }{{"cmp-unlimited", "concurrent"}, {"cmp-serial", "serialized"}}
	var childIDs []string
	for i, w := range want {
		row, td := d.ComparisonTable[i], targets[i]
		childID := id + "-t" + string(rune('1'+i)) + "-" + w.endpoint + "-gpt-4.1-nano"
		childIDs = append(childIDs, childID)
		if row.Endpoint != w.endpoint || row.Verdict != w.verdict || td.Conclusion.Verdict != w.verdict {
			t.Errorf("target %d: endpoint %q verdict %q (document: %q), want %s %s", i+1, row.Endpoint, row.Verdict, td.Conclusion.Verdict, w.endpoint, w.verdict)
		}
		if row.WorkflowID != childID {
			t.Errorf("target %d: workflow_id %q, want %q", i+1, row.WorkflowID, childID)
		}
		if row.Speedup == nil || row.EffectiveParallelism == nil || row.LatencyP50Seconds == nil || row.LatencyP95Seconds == nil || row.TTFTP50Seconds == nil {
			t.Errorf("target %d: a figure of the table is missing: %+v", i+1, row)
		}
		checkCompleted(t, td, childID, 4)
	}
	if s := d.ComparisonTable; s[0].Speedup != nil && s[1].Speedup != nil && *s[0].Speedup < 2*(*s[1].Speedup) {
		t.Errorf("speedups %.2f (unlimited) and %.2f (serial): the unlimited endpoint should be far ahead", *s[0].Speedup, *s[1].Speedup)
	}
	starts, closes := childTimes(t, id, childIDs)
	if starts[1].Before(closes[0]) {
		t.Errorf("target 2 started at %s, before target 1 ended at %s: not one after another", starts[1], closes[0])
	}
	for i, w := range want {
		running := "[" + string(rune('1'+i)) + "/2 " + w.endpoint + " · gpt-4.1-nano] running: workflow " + childIDs[i]
		if !strings.Contains(p.stdout.String(), running) {
			t.Errorf("the progress does not show %q", running)
		}
	}
	if !regexp.MustCompile(`\[1/2 cmp-unlimited · gpt-4.1-nano\] (sequential|concurrent): \d of 4 requests done`).MatchString(p.stdout.String()) {
		t.Errorf("the progress does not show the running target's requests")
	}
	table := regexp.MustCompile(`(?m)^\s+1\s+cmp-unlimited\s+gpt-4.1-nano\s+concurrent\s.*\n\s+2\s+cmp-serial\s+gpt-4.1-nano\s+serialized\s`)
	if !table.MatchString(p.stdout.String()) {
		t.Errorf("the terminal shows no aligned table of both targets:\n%s", p.stdout.String())
	}
	page, err := os.ReadFile(filepath.Join(dir, "cmp.html"))
	if err != nil {
		t.Fatalf("the HTML report: %v", err)
	}
	if n := strings.Count(string(page), `<section class="card target"`); n != 2 || !strings.Contains(string(page), `data-verdict="serialized"`) {
		t.Errorf("the HTML report has %d target cards (want 2, one serialized)", n)
	}

	// starter result: the same document, from the histories.
	again := filepath.Join(dir, "again.json")
	p, code = runStarter(t, time.Minute, "result", id, "-out", again, "-html", "none")
	if code != 0 {
		t.Fatalf("starter result exited %d\n%s", code, p.output())
	}
	first, _ := os.ReadFile(out)
	rebuilt, _ := os.ReadFile(again)
	if string(first) != string(rebuilt) {
		t.Errorf("starter result wrote another document than the comparison's:\n%s\n---\n%s", first, rebuilt)
	}

	// -attach follows a comparison, here finished: the same document.
	attached := filepath.Join(dir, "attached.json")
	p, code = runStarter(t, time.Minute, "-attach", id, "-out", attached, "-html", "none")
	if b, _ := os.ReadFile(attached); code != 0 || string(b) != string(first) {
		t.Errorf("starter -attach on the comparison exited %d and wrote another document\n%s", code, p.output())
	}

	// An endpoint no worker serves: refused before anything starts.
	nopeID := id + "-nope"
	p, code = runStarter(t, time.Minute, "-endpoint", "cmp-unlimited,cmp-nope", "-requests", "2", "-id", nopeID, "-out", filepath.Join(dir, "nope.json"))
	if errLines := lines(p.stderr.String()); code != 2 || len(errLines) != 1 || !strings.Contains(errLines[0], `endpoint "cmp-nope"`) {
		t.Errorf("-endpoint cmp-unlimited,cmp-nope: exit %d, want 2 and one line naming cmp-nope\n%s", code, p.output())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tc.DescribeWorkflow(ctx, nopeID, ""); err == nil {
		t.Errorf("the refused comparison %s was started", nopeID)
	}

	// starter rerun: the same targets, anew.
	rerunID := id + "-again"
	rerunOut := filepath.Join(dir, "rerun.json")
	p, code = runStarter(t, 3*time.Minute, "rerun", id, "-id", rerunID, "-out", rerunOut)
	if code != 0 {
		t.Fatalf("starter rerun exited %d\n%s", code, p.output())
	}
	r, _ := readComparison(t, rerunOut)
	if r.RerunOf != id || len(r.ComparisonTable) != 2 || r.ComparisonTable[0].Verdict != "concurrent" || r.ComparisonTable[1].Verdict != "serialized" ||
		r.ComparisonTable[1].WorkflowID != rerunID+"-t2-cmp-serial-gpt-4.1-nano" {
		t.Errorf("the rerun: rerun_of %q, table %+v", r.RerunOf, r.ComparisonTable)
	}

	// -parallel-targets: the children run at once.
	parID := id + "-par"
	p, code = runStarter(t, 3*time.Minute, "-endpoint", "cmp-unlimited,cmp-serial", "-requests", "2", "-max-tokens", "16", "-parallel-targets", "-id", parID, "-out", filepath.Join(dir, "par.json"))
	if code != 0 {
		t.Fatalf("the parallel comparison exited %d\n%s", code, p.output())
	}
	pd, _ := readComparison(t, filepath.Join(dir, "par.json"))
	if !pd.ParallelTargets {
		t.Error("parallel_targets is false with -parallel-targets")
	}
	starts, closes = childTimes(t, parID, []string{pd.ComparisonTable[0].WorkflowID, pd.ComparisonTable[1].WorkflowID})
	if !starts[1].Before(closes[0]) || !starts[0].Before(closes[1]) {
		t.Errorf("with -parallel-targets the children did not overlap: %v–%v and %v–%v", starts[0], closes[0], starts[1], closes[1])
	}
	if !strings.Contains(p.stdout.String(), "disturbed each other") {
		t.Errorf("the terminal does not say the parallel targets disturbed each other:\n%s", p.stdout.String())
	}
}

// TestComparisonRerunFailedOnly: a comparison of 2 endpoints × 2 models,
// one endpoint answering every request 500; `rerun -failed-only` carries
// the good endpoint's targets over (no run started for them) and resends only
// the failed requests of the broken one's, merged into their results.
func TestComparisonRerunFailedOnly(t *testing.T) {
	const models = "gpt-4.1-nano,gpt-4.1-mini"
	comparisonWorker(t, [2]string{"cmp-ok", "cmp-broken"}, [2][]string{{"-latency", "50ms", "-models", models}, {"-latency", "50ms", "-models", models, "-fault-500", "1"}})
	dir := t.TempDir()
	id := "e2e-cmp-failed-" + randHex(4)
	out := filepath.Join(dir, "cmp.json")
	p, code := runStarter(t, 3*time.Minute, "-endpoint", "cmp-ok,cmp-broken", "-model", models, "-requests", "2", "-warmup", "0", "-max-tokens", "8", "-id", id, "-out", out)
	if code != 0 {
		t.Fatalf("the comparison exited %d\n%s", code, p.output())
	}
	d, targets := readComparison(t, out)
	if len(targets) != 4 {
		t.Fatalf("%d targets, want 4", len(targets))
	}
	for i, td := range targets {
		broken := i >= 2
		if failedN := td.Sequential.Failed + td.Concurrent.Failed; (failedN == 4) != broken || (!broken && failedN != 0) {
			t.Errorf("target %d (%s · %s): %d failed requests", i+1, d.ComparisonTable[i].Endpoint, d.ComparisonTable[i].Model, failedN)
		}
	}

	rerunOut := filepath.Join(dir, "rerun.json")
	rerunID := id + "-fo"
	p, code = runStarter(t, 3*time.Minute, "rerun", id, "-failed-only", "-id", rerunID, "-out", rerunOut)
	if code != 0 {
		t.Fatalf("rerun -failed-only exited %d\n%s", code, p.output())
	}
	var raw struct {
		Targets []struct {
			WorkflowID string `json:"workflow_id"`
			Carried    bool   `json:"carried"`
			Rerun      *struct {
				Of string `json:"of"`
			} `json:"rerun"`
		} `json:"targets"`
	}
	b, _ := os.ReadFile(rerunOut)
	if err := json.Unmarshal(b, &raw); err != nil || len(raw.Targets) != 4 {
		t.Fatalf("decode the rerun's JSON (%v): %s", err, b)
	}
	for i, tg := range raw.Targets {
		orig := d.ComparisonTable[i].WorkflowID
		switch {
		case i < 2 && (!tg.Carried || tg.WorkflowID != orig):
			t.Errorf("good target %d: carried %v, workflow_id %q; want carried over from %s", i+1, tg.Carried, tg.WorkflowID, orig)
		case i >= 2 && (tg.Carried || tg.Rerun == nil || tg.Rerun.Of != orig || !strings.HasPrefix(tg.WorkflowID, rerunID+"-t")):
			t.Errorf("broken target %d: carried %v, rerun %+v, workflow_id %q; want its failed requests resent, merged with %s", i+1, tg.Carried, tg.Rerun, tg.WorkflowID, orig)
		}
	}
	if !strings.Contains(p.stdout.String(), "Rerunning comparison "+id+" resending 8 failed requests or targets") {
		t.Errorf("the rerun does not say what it resends:\n%s", p.stdout.String())
	}
}
