package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// deadAddress is where no Temporal server listens: a run that got past the
// input checks would fail to connect there, with a different message.
const deadAddress = "127.0.0.1:1"

// isolate points the Temporal client configuration at deadAddress and away
// from any config file or profile of the machine running the tests.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("TEMPORAL_ADDRESS", deadAddress)
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "no-such-config.toml"))
	t.Setenv("TEMPORAL_PROFILE", "")
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// oneErrorLine checks that stderr is exactly one line starting with
// "starter: " and returns it.
func oneErrorLine(t *testing.T, stderr string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if stderr == "" || !strings.HasSuffix(stderr, "\n") || len(lines) != 1 {
		t.Fatalf("stderr is not exactly one line: %q", stderr)
	}
	if !strings.HasPrefix(lines[0], "starter: ") {
		t.Fatalf("stderr line does not start with \"starter: \": %q", lines[0])
	}
	return lines[0]
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMainBadInput(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "result.json")
	empty := writeFile(t, "empty.txt", "")
	blank := writeFile(t, "blank.txt", "\n   \n\t\n")
	missing := filepath.Join(t.TempDir(), "no-such-prompts.txt")
	noDir := filepath.Join(t.TempDir(), "no-such-folder", "result.json")

	tests := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"requests 0", []string{"-requests", "0"}, "-requests"},
		{"requests negative", []string{"-requests", "-3"}, "-requests"},
		{"requests too many", []string{"-requests", "10001"}, "10000"},
		{"concurrency negative", []string{"-requests", "10", "-concurrency", "-1"}, "-concurrency"},
		{"concurrency 0", []string{"-requests", "10", "-concurrency", "0"}, "-concurrency"},
		{"requests above max-requests", []string{"-requests", "11", "-max-requests", "10"}, "-max-requests"},
		{"max-requests 0", []string{"-max-requests", "0"}, "-max-requests"},
		{"sequential pass over the history limit", []string{"-requests", "9000"}, "51,200"},
		{"concurrency above requests", []string{"-requests", "10", "-concurrency", "11"}, "-concurrency"},
		{"passes", []string{"-passes", "foo"}, "-passes"},
		{"max tokens 0", []string{"-max-tokens", "0"}, "-max-tokens"},
		{"empty model", []string{"-model", "  "}, "-model"},
		{"shards 0", []string{"-shards", "0"}, "-shards"},
		{"timeout 0", []string{"-timeout", "0s"}, "-timeout"},
		{"missing prompts file", []string{"-prompts", missing}, "no-such-prompts.txt"},
		{"empty prompts file", []string{"-prompts", empty}, "no prompts"},
		{"blank prompts file", []string{"-prompts", blank}, "no prompts"},
		{"malformed int", []string{"-requests", "abc"}, "-requests"},
		{"unknown flag", []string{"-nosuchflag"}, "nosuchflag"},
		{"positional argument", []string{"-requests", "5", "extra"}, `"extra"`},
		{"out folder missing", []string{"-out", noDir}, "no-such-folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !strings.HasPrefix(tc.name, "out ") {
				args = append(args[:len(args):len(args)], "-out", out)
			}
			code, stdout, stderr := runMain(t, args...)
			refusedBeforeStart(t, code, stdout, stderr, tc.want, out)
		})
	}
}

func TestMainHelp(t *testing.T) {
	isolate(t)
	for _, arg := range []string{"-h", "-help"} {
		code, _, stderr := runMain(t, arg)
		if code != ExitOK {
			t.Errorf("%s: exit code %d, want 0", arg, code)
		}
		if !strings.Contains(stderr, "Usage: starter") {
			t.Errorf("%s: no usage line in %q", arg, stderr)
		}
		for _, flag := range []string{"-requests", "-concurrency", "-model", "-prompts", "-out", "-dev"} {
			if !strings.Contains(stderr, flag) {
				t.Errorf("%s: usage does not list %s", arg, flag)
			}
		}
		if strings.Contains(stderr, "starter: ") {
			t.Errorf("%s: help printed as an error: %q", arg, stderr)
		}
	}
}

func TestMainTemporalUnreachable(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runMain(t, "-requests", "2", "-out", out)
	if code != ExitBadInput {
		t.Errorf("exit code %d, want %d", code, ExitBadInput)
	}
	line := oneErrorLine(t, stderr)
	if !strings.Contains(line, deadAddress) {
		t.Errorf("error line %q does not name the address tried (%s)", line, deadAddress)
	}
	if stdout != "" {
		t.Errorf("stdout not empty: %q", stdout)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a result file was written though nothing ran")
	}
	// The write check leaves nothing behind.
	if entries, err := os.ReadDir(filepath.Dir(out)); err != nil || len(entries) != 0 {
		t.Errorf("the result folder holds %v (err %v), want nothing", entries, err)
	}
}

func TestRunInputDefaults(t *testing.T) {
	o, err := parseFlags([]string{"-requests", "30"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := o.runInput()
	if err != nil {
		t.Fatal(err)
	}
	if in.Concurrency != 30 {
		t.Errorf("-concurrency 0 gave concurrency %d, want all 30 requests", in.Concurrency)
	}
	if len(in.Prompts) != 30 {
		t.Errorf("%d prompts for 30 requests", len(in.Prompts))
	}
	seen := map[string]bool{}
	for _, p := range in.Prompts {
		if seen[p] {
			t.Errorf("prompt %q used twice", p)
		}
		seen[p] = true
	}
	if in.Model != DefaultModel || in.PromptsSource != "built-in list" {
		t.Errorf("model %q, prompts %q", in.Model, in.PromptsSource)
	}
}

func TestRunInputPromptsFile(t *testing.T) {
	f := writeFile(t, "prompts.txt", "first\n\nsecond\nfirst\n")
	o, err := parseFlags([]string{"-requests", "3", "-concurrency", "2", "-prompts", f}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := o.runInput()
	if err != nil {
		t.Fatal(err)
	}
	if in.Concurrency != 2 || in.PromptsSource != f {
		t.Errorf("concurrency %d, prompts source %q", in.Concurrency, in.PromptsSource)
	}
	if len(in.Prompts) != 3 || in.Prompts[0] != "first" || in.Prompts[1] != "second" {
		t.Errorf("prompts %q", in.Prompts)
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != ExitOK {
		t.Error("nil error is not ExitOK")
	}
	if ExitCode(badInput("x")) != ExitBadInput {
		t.Error("badInput is not ExitBadInput")
	}
	if ExitCode(failed(os.ErrClosed)) != ExitFailed {
		t.Error("failed is not ExitFailed")
	}
	if ExitCode(os.ErrClosed) != ExitFailed {
		t.Error("a plain error is not ExitFailed")
	}
}

func TestDefaultWorkflowID(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 89_000_000, time.FixedZone("CET", 3600))
	if got, want := DefaultWorkflowID("gpt-4.1-nano", now), "concurrency-test-gpt-4.1-nano-20250304T040607.089Z"; got != want {
		t.Errorf("DefaultWorkflowID = %q, want %q", got, want)
	}
	format := regexp.MustCompile(`^concurrency-test-gpt-4\.1-nano-\d{8}T\d{6}\.\d{3}Z$`)
	if got := DefaultWorkflowID("gpt-4.1-nano", time.Now()); !format.MatchString(got) {
		t.Errorf("DefaultWorkflowID = %q, not concurrency-test-<model>-YYYYMMDDTHHMMSS.mmmZ", got)
	}

	safe := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	for _, model := range []string{"meta-llama/Llama-3.1-8B", "ft:gpt-4o-mini:org::abc", "my model"} {
		id := DefaultWorkflowID(model, now)
		if !safe.MatchString(id) {
			t.Errorf("DefaultWorkflowID(%q) = %q has unsafe characters", model, id)
		}
		if !strings.HasPrefix(id, "concurrency-test-") || !strings.HasSuffix(id, "-20250304T040607.089Z") {
			t.Errorf("DefaultWorkflowID(%q) = %q lost its frame", model, id)
		}
	}
	if got := DefaultWorkflowID("meta-llama/Llama-3.1-8B", now); got != "concurrency-test-meta-llama_Llama-3.1-8B-20250304T040607.089Z" {
		t.Errorf("DefaultWorkflowID with '/' = %q", got)
	}
}

// fakeRecord is a completed request of pass, sent at start+i s.
func fakeRecord(pass record.Pass, i int, start time.Time, latency time.Duration) record.Request {
	sent := start.Add(time.Duration(i) * time.Second)
	if pass == record.PassConcurrent {
		sent = start
	}
	return record.Request{
		Index:          i,
		Pass:           pass,
		Prompt:         "p",
		SentAt:         sent,
		ReceivedAt:     sent.Add(latency),
		LatencySeconds: latency.Seconds(),
		OK:             true,
		HTTPStatus:     200,
		Attempt:        1,
		Model:          "sim-model",
	}
}

func countLines(s, prefix string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			n++
		}
	}
	return n
}

func TestDisplayPrintsEachItemOnce(t *testing.T) {
	const n = 3
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var seq, conc []record.Request
	for i := range n {
		seq = append(seq, fakeRecord(record.PassSequential, i, start, 900*time.Millisecond))
		conc = append(conc, fakeRecord(record.PassConcurrent, i, start.Add(time.Minute), time.Second+time.Duration(i)*time.Millisecond))
	}
	in := testrun.Input{Requests: n, Model: "sim-model", MaxTokens: 10, Concurrency: n, Passes: testrun.PassesBoth, PromptsSource: "built-in list"}.WithDefaults()
	ep := record.Endpoint{BaseURL: "http://127.0.0.1:9/v1"}
	seqSummary := analysis.Summarize(seq)

	var buf bytes.Buffer
	d := newDisplay(report.Text{W: &buf}, false)
	cfg := report.ConfigOf(in, ep)
	d.config(cfg)

	// Progress: the whole sequential pass and one concurrent request...
	p := testrun.Progress{
		Config:     in,
		Endpoint:   ep,
		Sequential: testrun.PassProgress{Total: n, Done: n, Summary: &seqSummary},
		Concurrent: testrun.PassProgress{Total: n, Done: 1},
		Events: []testrun.ProgressEvent{
			testrun.EventOf(seq[0]), testrun.EventOf(seq[1]), testrun.EventOf(seq[2]),
			testrun.EventOf(conc[1]),
		},
	}
	d.progress(p, cfg)
	// ...asked again (as after a query whose answer was not taken up)...
	d.progress(p, cfg)
	// ...then the finished run, which has every request again.
	doc := report.Build("wf", "run", testrun.Result{
		Config:     in,
		Endpoint:   ep,
		StartedAt:  start,
		FinishedAt: start.Add(2 * time.Minute),
		Sequential: &testrun.PassResult{Pass: record.PassSequential, Records: seq},
		Concurrent: &testrun.PassResult{Pass: record.PassConcurrent, FireAt: start.Add(time.Minute), Records: conc},
	})
	d.config(doc.Config)
	d.result(doc)
	text := buf.String()

	if got := countLines(text, "Request "); got != 2*n {
		t.Errorf("%d request lines, want %d (each request once):\n%s", got, 2*n, text)
	}
	for i := 0; i < n; i++ {
		if c := strings.Count(text, fmt.Sprintf("Request #%d ", i)); c != 2 {
			t.Errorf("request #%d printed %d times over both passes, want 2", i, c)
		}
	}
	for _, pass := range []string{"Sequential", "Concurrent"} {
		if c := countLines(text, pass+" summary"); c != 1 {
			t.Errorf("%q printed %d times, want once", pass+" summary", c)
		}
	}
	for _, once := range []string{"SEQUENTIAL PASS", "CONCURRENT PASS", "COMPARISON", "CONCLUSION", "LLM API concurrency test"} {
		if c := strings.Count(text, once); c != 1 {
			t.Errorf("%q printed %d times, want once", once, c)
		}
	}
	order := []string{"LLM API concurrency test", "SEQUENTIAL PASS", "Sequential summary", "CONCURRENT PASS", "Concurrent summary", "COMPARISON", "CONCLUSION"}
	last := -1
	for _, s := range order {
		i := strings.Index(text, s)
		if i < last {
			t.Errorf("%q comes before what precedes it in %v:\n%s", s, order, text)
		}
		last = i
	}
	// Request lines of each pass sit between its header and its summary.
	seqPart := text[strings.Index(text, "SEQUENTIAL PASS"):strings.Index(text, "Sequential summary")]
	concPart := text[strings.Index(text, "CONCURRENT PASS"):strings.Index(text, "Concurrent summary")]
	if countLines(seqPart, "Request ") != n || countLines(concPart, "Request ") != n {
		t.Errorf("request lines are not under their pass:\n%s", text)
	}
}

func TestDisplayResultOnly(t *testing.T) {
	// Attaching to a run that has already ended: no progress at all.
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var seq []record.Request
	for i := range 4 {
		seq = append(seq, fakeRecord(record.PassSequential, i, start, time.Second))
	}
	in := testrun.Input{Requests: 4, Model: "m", MaxTokens: 10, Concurrency: 4, Passes: testrun.PassesSequential}.WithDefaults()
	doc := report.Build("wf", "run", testrun.Result{
		Config: in, StartedAt: start, FinishedAt: start.Add(time.Minute),
		Sequential: &testrun.PassResult{Pass: record.PassSequential, Records: seq},
	})
	var buf bytes.Buffer
	d := newDisplay(report.Text{W: &buf}, false)
	d.config(doc.Config)
	d.result(doc)
	text := buf.String()
	if got := countLines(text, "Request "); got != 4 {
		t.Errorf("%d request lines, want 4:\n%s", got, text)
	}
	if c := countLines(text, "Sequential summary"); c != 1 {
		t.Errorf("sequential summary printed %d times", c)
	}
	if strings.Contains(text, "CONCURRENT PASS") || strings.Contains(text, "COMPARISON") {
		t.Errorf("a pass that did not run is shown:\n%s", text)
	}
	if c := strings.Count(text, "CONCLUSION"); c != 1 {
		t.Errorf("CONCLUSION printed %d times", c)
	}
}

// refusedBeforeStart checks a run refused as bad input before anything
// started: exit 2, one error line mentioning want, the starter never tried
// Temporal, nothing on stdout and no result file at out.
func refusedBeforeStart(t *testing.T, code int, stdout, stderr, want, out string) {
	t.Helper()
	if code != ExitBadInput {
		t.Errorf("exit code %d, want %d (ExitBadInput)", code, ExitBadInput)
	}
	line := oneErrorLine(t, stderr)
	if !strings.Contains(line, want) {
		t.Errorf("error line %q does not mention %q", line, want)
	}
	if strings.Contains(line, deadAddress) || strings.Contains(line, "Temporal") {
		t.Errorf("the starter went on to connect to Temporal: %q", line)
	}
	if stdout != "" {
		t.Errorf("stdout not empty: %q", stdout)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a result file was written")
	}
}
