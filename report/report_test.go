package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

var start = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ts(sec float64) time.Time {
	return start.Add(time.Duration(sec * float64(time.Second)))
}

func rec(pass record.Pass, index int, from, to float64) record.Request {
	return record.Request{
		Index: index, Pass: pass, Prompt: "prompt", SentAt: ts(from), ReceivedAt: ts(to),
		LatencySeconds: to - from, OK: true, HTTPStatus: 200, Attempt: 1,
		PromptTokens: 12, CompletionTokens: 34, Model: "test-model", Response: "an answer",
	}
}

// result is a run of n requests, both passes, served fully concurrently.
func result(n int) testrun.Result {
	var seq, conc []record.Request
	for i := range n {
		seq = append(seq, rec(record.PassSequential, i, float64(i)*2, float64(i)*2+2))
		r := rec(record.PassConcurrent, i, 100, 102)
		r.DispatchDelaySeconds = 0.001
		conc = append(conc, r)
	}
	return testrun.Result{
		Config: testrun.Input{
			Requests: n, Model: "test-model", MaxTokens: 100, Concurrency: n, Passes: testrun.PassesBoth,
			PromptsSource: "built-in list", RequestTimeout: 2 * time.Minute, Timeout: 30 * time.Minute, MaxShards: 50,
		},
		Endpoint:   record.Endpoint{BaseURL: "http://127.0.0.1:8000/v1", Label: "simulator"},
		StartedAt:  start,
		FinishedAt: start.Add(103 * time.Second),
		Sequential: &testrun.PassResult{Pass: record.PassSequential, Shards: n, Records: seq},
		Concurrent: &testrun.PassResult{Pass: record.PassConcurrent, FireAt: start.Add(100 * time.Second), Shards: n, Records: conc},
	}
}

// asMap marshals v and decodes it as generic JSON.
func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

var (
	topKeys = []string{"schema_version", "workflow_id", "run_id", "started_at", "finished_at", "config",
		"sequential", "concurrent", "comparison", "conclusion"}
	configKeys = []string{"requests", "model", "max_tokens", "concurrency", "passes", "prompts_source",
		"request_timeout_seconds", "timeout_seconds", "max_shards", "endpoint", "endpoint_label", "endpoint_name", "stream", "retry",
		"warmup", "order"}
	passKeys = []string{"total_seconds", "successful", "failed", "average_latency_seconds", "start_spread_seconds",
		"max_in_flight", "dispatch_gap_seconds", "shards", "requests",
		"stream", "latency", "ttft", "tpot", "itl", "output_tokens_per_second", "status_counts", "rate_limit",
		"connections", "cold_connections"}
	// statsKeys are the names of every stats object (latency, ttft, tpot, itl).
	statsKeys   = []string{"mean", "min", "max", "stddev", "p50", "p90", "p95", "p99", "n"}
	requestKeys = []string{"index", "pass", "prompt", "sent_at", "received_at", "latency_seconds", "ok", "http_status",
		"error", "attempt", "prompt_tokens", "completion_tokens", "model", "response", "dispatch_delay_seconds",
		"stream", "output_tokens_per_second", "activity_attempt"}
	comparisonKeys = []string{"sequential_seconds", "concurrent_seconds", "time_saved_seconds", "speedup",
		"time_reduction_percent", "effective_parallelism"}
)

func TestBuildSchema(t *testing.T) {
	d := report.Build("wf-id", "run-id", result(3))
	m := asMap(t, d)

	assert.Equal(t, sorted(topKeys...), keys(m), "top-level keys")
	assert.EqualValues(t, 1, m["schema_version"])
	assert.Equal(t, "wf-id", m["workflow_id"])
	assert.Equal(t, "run-id", m["run_id"])
	assert.Equal(t, "2025-06-01T12:00:00Z", m["started_at"])
	assert.Equal(t, "2025-06-01T12:01:43Z", m["finished_at"])

	cfg := m["config"].(map[string]any)
	assert.Equal(t, sorted(configKeys...), keys(cfg), "config keys")
	assert.EqualValues(t, 3, cfg["requests"])
	assert.Equal(t, "test-model", cfg["model"])
	assert.EqualValues(t, 100, cfg["max_tokens"])
	assert.EqualValues(t, 3, cfg["concurrency"])
	assert.Equal(t, "both", cfg["passes"])
	assert.Equal(t, "built-in list", cfg["prompts_source"])
	assert.EqualValues(t, 120, cfg["request_timeout_seconds"])
	assert.EqualValues(t, 1800, cfg["timeout_seconds"])
	assert.EqualValues(t, 50, cfg["max_shards"])
	assert.Equal(t, "http://127.0.0.1:8000/v1", cfg["endpoint"])
	assert.Equal(t, "simulator", cfg["endpoint_label"])
	assert.Equal(t, "default", cfg["endpoint_name"], "a run without a name used the default endpoint")

	seq := m["sequential"].(map[string]any)
	assert.Equal(t, sorted(passKeys...), keys(seq), "sequential pass keys (no fire_at)")
	conc := m["concurrent"].(map[string]any)
	assert.Equal(t, sorted(append([]string{"fire_at"}, passKeys...)...), keys(conc), "concurrent pass keys")
	assert.Equal(t, "2025-06-01T12:01:40Z", conc["fire_at"])
	assert.EqualValues(t, 3, conc["shards"])
	assert.EqualValues(t, 3, conc["max_in_flight"])
	assert.EqualValues(t, 1, seq["max_in_flight"])
	assert.EqualValues(t, 3, seq["successful"])
	assert.EqualValues(t, 0, seq["failed"])
	assert.EqualValues(t, 6, seq["total_seconds"])
	assert.Equal(t, false, seq["stream"])
	assert.Equal(t, sorted(statsKeys...), keys(seq["latency"].(map[string]any)), "latency keys")
	assert.EqualValues(t, 2, seq["latency"].(map[string]any)["p99"])
	assert.EqualValues(t, 3, seq["latency"].(map[string]any)["n"])
	for _, k := range []string{"ttft", "tpot", "itl", "rate_limit"} {
		assert.Nil(t, seq[k], "%s is null without streaming or headers", k)
	}
	assert.Equal(t, map[string]any{"200": 3.0}, seq["status_counts"])
	assert.EqualValues(t, 3*34/6.0, seq["output_tokens_per_second"])
	assert.EqualValues(t, 3*34/2.0, conc["output_tokens_per_second"])

	for _, p := range []map[string]any{seq, conc} {
		reqs := p["requests"].([]any)
		require.Len(t, reqs, 3)
		for i, r := range reqs {
			rm := r.(map[string]any)
			assert.Equal(t, sorted(requestKeys...), keys(rm), "request keys")
			assert.EqualValues(t, i, rm["index"])
			assert.Equal(t, true, rm["ok"])
			assert.EqualValues(t, 200, rm["http_status"])
			assert.Equal(t, "an answer", rm["response"])
			assert.EqualValues(t, 34, rm["completion_tokens"])
		}
	}

	cmp := m["comparison"].(map[string]any)
	assert.Equal(t, sorted(comparisonKeys...), keys(cmp), "comparison keys")
	assert.EqualValues(t, 3, cmp["speedup"])
	concl := m["conclusion"].(map[string]any)
	assert.Equal(t, sorted("verdict", "text", "evidence"), keys(concl), "conclusion keys")
	assert.Equal(t, analysis.VerdictConcurrent, concl["verdict"])
	assert.NotEmpty(t, concl["text"])
}

func TestBuildFiguresComeFromAnalysis(t *testing.T) {
	r := result(4)
	r.Concurrent.Records[2].OK = false
	r.Concurrent.Records[2].HTTPStatus = 429
	d := report.Build("w", "r", r)

	seq := analysis.Summarize(r.Sequential.Records)
	conc := analysis.Summarize(r.Concurrent.Records)
	assert.Equal(t, seq, d.Sequential.PassSummary)
	assert.Equal(t, conc, d.Concurrent.PassSummary)
	require.NotNil(t, d.Comparison)
	cmp := analysis.Compare(seq, conc)
	assert.Equal(t, cmp, *d.Comparison)
	assert.Equal(t, analysis.Conclude(&seq, &conc, &cmp, 4, 4), d.Conclusion)
	assert.Equal(t, analysis.VerdictInconclusive, d.Conclusion.Verdict, "1 of 4 failed: more than 20%")
	assert.Empty(t, d.Error)
	assert.Equal(t, r.Concurrent.Records, d.Concurrent.Requests)
}

// TestBuildStreamingFigures checks that a streamed run's figures reach each
// pass of the document under their names.
func TestBuildStreamingFigures(t *testing.T) {
	r := result(3)
	for i := range r.Concurrent.Records {
		rr := &r.Concurrent.Records[i]
		ttft, tpot := 0.2*float64(i+1), 0.01*float64(i+1)
		rr.Stream, rr.TTFTSeconds, rr.TPOTSeconds = true, &ttft, &tpot
		rr.ChunkGapsSeconds = []float64{0.01, 0.02 * float64(i+1)}
		remaining, limit := 10-i, 60
		rr.RateLimit = &record.RateLimit{RemainingRequests: &remaining, LimitRequests: &limit, ResetRequests: "1s"}
	}
	failed := &r.Concurrent.Records[2]
	failed.OK, failed.HTTPStatus, failed.Error = false, 429, "HTTP 429: rate limited"
	retry := 12.0
	failed.RetryAfterSeconds = &retry
	d := report.Build("w", "r", r)
	require.NotNil(t, d.Concurrent)
	assert.Equal(t, analysis.Summarize(r.Concurrent.Records), d.Concurrent.PassSummary)

	m := asMap(t, d)
	conc := m["concurrent"].(map[string]any)
	assert.Equal(t, sorted(append([]string{"fire_at", "retry_after_max_seconds", "error_kinds", "observed_server_concurrency"}, passKeys...)...), keys(conc))
	assert.Equal(t, map[string]any{"rate_limited": 1.0}, conc["error_kinds"], "error_kinds: an additive field, present when a request failed")
	assert.Equal(t, true, conc["stream"])
	for _, k := range []string{"latency", "ttft", "tpot", "itl"} {
		assert.Equal(t, sorted(statsKeys...), keys(conc[k].(map[string]any)), "%s keys", k)
	}
	assert.EqualValues(t, 2, conc["latency"].(map[string]any)["n"], "successful requests only")
	assert.EqualValues(t, 3, conc["ttft"].(map[string]any)["n"])
	assert.InDelta(t, 0.4, conc["ttft"].(map[string]any)["p50"], 1e-9)
	assert.EqualValues(t, 4, conc["itl"].(map[string]any)["n"], "gaps of the two successful streams, pooled")
	assert.InDelta(t, 0.04, conc["itl"].(map[string]any)["max"], 1e-9)
	assert.Equal(t, map[string]any{"200": 2.0, "429": 1.0}, conc["status_counts"])
	assert.InDelta(t, 2*34/2.0, conc["output_tokens_per_second"], 1e-9)
	assert.EqualValues(t, 12, conc["retry_after_max_seconds"])
	rl := conc["rate_limit"].(map[string]any)
	assert.Nil(t, rl["tokens"])
	assert.Equal(t, map[string]any{"remaining": 8.0, "limit": 60.0, "reset": "1s", "index": 2.0}, rl["requests"])

	seq := m["sequential"].(map[string]any)
	assert.Equal(t, false, seq["stream"], "each pass has its own figures")
	assert.NotContains(t, seq, "retry_after_max_seconds")

	// The figures survive a write and a read.
	path := filepath.Join(t.TempDir(), "r.json")
	require.NoError(t, report.WriteJSON(path, d))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var back report.Document
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)
}

func TestBuildOnePass(t *testing.T) {
	r := result(3)
	r.Concurrent = nil
	r.Config.Passes = testrun.PassesSequential
	d := report.Build("w", "r", r)
	m := asMap(t, d)

	assert.Equal(t, sorted(topKeys...), keys(m), "a pass that did not run is null, not absent")
	assert.Nil(t, m["concurrent"])
	assert.Nil(t, m["comparison"])
	assert.NotNil(t, m["sequential"])
	assert.Equal(t, analysis.VerdictInconclusive, d.Conclusion.Verdict)
}

func TestBuildEmptyPassHasEmptyRequests(t *testing.T) {
	r := result(2)
	r.Concurrent.Records = nil
	m := asMap(t, report.Build("w", "r", r))
	reqs, ok := m["concurrent"].(map[string]any)["requests"].([]any)
	require.True(t, ok, "requests must be a JSON array, not null")
	assert.Empty(t, reqs)
}

func TestBuildAbortedRun(t *testing.T) {
	r := result(3) // its figures alone would say concurrent
	r.Aborted = "the endpoint rejected the API key (HTTP 401): check OPENAI_API_KEY in the worker's environment"
	d := report.Build("w", "r", r)
	m := asMap(t, d)

	assert.Equal(t, sorted(append([]string{"error"}, topKeys...)...), keys(m))
	assert.Equal(t, r.Aborted, m["error"])
	assert.Equal(t, analysis.VerdictInconclusive, d.Conclusion.Verdict)
	assert.Contains(t, d.Conclusion.Text, r.Aborted)
	assert.NotNil(t, d.Sequential, "what was measured stays in the document")

	// Aborted in the sequential pass: no concurrent pass, no comparison.
	r.Concurrent = nil
	r.Sequential.Records = r.Sequential.Records[:1]
	d = report.Build("w", "r", r)
	assert.Equal(t, analysis.VerdictInconclusive, d.Conclusion.Verdict)
	assert.Nil(t, d.Comparison)
	assert.Equal(t, r.Aborted, d.Error)
}

func TestBuildTimestampsAreUTC(t *testing.T) {
	r := result(1)
	zone := time.FixedZone("UTC+2", 2*3600)
	r.StartedAt = time.Date(2025, 6, 1, 14, 0, 0, 123456789, zone)
	r.FinishedAt = time.Time{}
	d := report.Build("w", "r", r)
	assert.Equal(t, "2025-06-01T12:00:00.123456789Z", d.StartedAt)
	assert.Empty(t, d.FinishedAt, "a zero time is empty, not year 1")
	r.Concurrent.FireAt = time.Time{}
	m := asMap(t, report.Build("w", "r", r))
	assert.NotContains(t, m["concurrent"], "fire_at")
}

func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "result.json")
	d := report.Build("wf", "run", result(2))
	require.NoError(t, report.WriteJSON(path, d))

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the result holds prompts and responses: owner only")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasSuffix(b, []byte("}\n")), "ends with a newline")
	assert.True(t, bytes.HasPrefix(b, []byte("{\n  \"schema_version\": 1,")), "indented, schema_version first: %.40s", b)
	var back report.Document
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)
	assertOnly(t, dir, "result.json")

	// Writing again replaces the file whole, with the right mode even if
	// the old file had another.
	require.NoError(t, os.Chmod(path, 0o644))
	d2 := report.Build("wf2", "run2", result(1))
	require.NoError(t, report.WriteJSON(path, d2))
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, "wf2", back.WorkflowID)
	info, err = os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assertOnly(t, dir, "result.json")
}

func TestWriteJSONErrors(t *testing.T) {
	dir := t.TempDir()
	d := report.Build("wf", "run", result(1))

	missing := filepath.Join(dir, "no-such-dir", "out.json")
	err := report.WriteJSON(missing, d)
	require.Error(t, err)
	assert.Contains(t, err.Error(), missing)
	assert.NotContains(t, err.Error(), ".tmp-", "the error names the user's path, not the temporary file")

	// A folder in the way: the write fails and leaves nothing behind.
	target := filepath.Join(dir, "taken")
	require.NoError(t, os.Mkdir(target, 0o755))
	err = report.WriteJSON(target, d)
	require.Error(t, err)
	assert.Contains(t, err.Error(), target)
	assert.NotContains(t, err.Error(), ".tmp-")
	assertOnly(t, dir, "taken")
}

// assertOnly checks that dir holds exactly the named entries: no temporary
// file is left behind.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	assert.Equal(t, sorted(names...), got)
}

func TestTextRequestLines(t *testing.T) {
	var buf bytes.Buffer
	tx := report.Text{W: &buf}
	tx.Request(testrun.ProgressEvent{Pass: record.PassSequential, Index: 2, OK: true, HTTPStatus: 200, LatencySeconds: 2.3401}, 10)
	tx.Request(testrun.ProgressEvent{Pass: record.PassConcurrent, Index: 9, HTTPStatus: 429, LatencySeconds: 0.5,
		Error: "HTTP 429: Rate limit reached\n  for gpt-4.1-nano"}, 10)
	tx.Request(testrun.ProgressEvent{Pass: record.PassSequential, Index: 0, Error: "not sent: the run's -timeout had passed"}, 1)

	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	require.Len(t, lines, 3, "one line per request, even with a multi-line error")
	assert.Equal(t, "  Request #2 ✓ Completed in 2.34s", lines[0], "numbered as the JSON's index and the HTML report")
	assert.Equal(t, "  Request #9 ✗ Failed after 0.50s: HTTP 429: Rate limit reached for gpt-4.1-nano", lines[1])
	assert.Equal(t, "  Request #0 ✗ Failed after 0.00s: not sent: the run's -timeout had passed", lines[2])
}

func TestTextLongErrorIsShortened(t *testing.T) {
	var buf bytes.Buffer
	report.Text{W: &buf}.Request(testrun.ProgressEvent{Index: 0, Error: strings.Repeat("x", 500)}, 1)
	line := strings.TrimSuffix(buf.String(), "\n")
	assert.NotContains(t, line, "\n")
	assert.True(t, strings.HasSuffix(line, strings.Repeat("x", 10)+"…"), "a long error is cut with an ellipsis: %q", line)
	assert.Less(t, len(line), 220)
}

// TestTextShortenedErrorIsValidUTF8 fails today: the error is cut at 160
// bytes, which can split a multi-byte character in two.
func TestTextShortenedErrorIsValidUTF8(t *testing.T) {
	var buf bytes.Buffer
	// "a" then 2-byte runes: byte 160 falls inside a rune.
	report.Text{W: &buf}.Request(testrun.ProgressEvent{Index: 0, Error: "a" + strings.Repeat("é", 120)}, 1)
	assert.True(t, utf8.ValidString(buf.String()), "the shortened error is not valid UTF-8: %q", buf.String())
}

func TestTextBlocks(t *testing.T) {
	d := report.Build("wf", "run", result(3))
	var buf bytes.Buffer
	tx := report.Text{W: &buf}
	tx.ConfigBlock(d.Config, "Endpoint:          http://127.0.0.1:8000/v1")
	tx.PassHeader(testrun.PassesSequential, 3, 3)
	tx.PassHeader(testrun.PassesConcurrent, 3, 2)
	tx.PassSummary(string(record.PassSequential), d.Sequential.PassSummary)
	tx.PassSummary(string(record.PassConcurrent), d.Concurrent.PassSummary)
	tx.Comparison(*d.Comparison)
	tx.Conclusion(d.Conclusion)
	out := buf.String()

	for _, want := range []string{
		"LLM API concurrency test",
		"  Requests per pass: 3\n",
		"  Model:             test-model\n",
		"  Concurrency:       3\n",
		"  Passes:            both\n",
		"  Prompts:           built-in list\n",
		"  Endpoint:          http://127.0.0.1:8000/v1\n",
		"SEQUENTIAL PASS: 3 requests, one after another\n",
		"CONCURRENT PASS: 3 requests, 2 at a time\n",
		"  Sequential summary\n",
		"  Concurrent summary\n",
		"    Successful:            3\n",
		"    Total time:            6.00s\n",
		"    Total time:            2.00s\n",
		"    Max in flight:         3\n",
		"    Max in flight:         1\n",
		"COMPARISON",
		"  Speedup:               3.00x\n",
		"  Time saved:            4.00s\n",
		"  Time reduction:        66.7%\n",
		"CONCLUSION",
		"  Verdict: concurrent\n",
		d.Conclusion.Text,
	} {
		assert.Contains(t, out, want)
	}
}
