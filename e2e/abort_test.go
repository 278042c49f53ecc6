package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestWrongKeyAbortsEarly runs a worker whose key the endpoint rejects: the
// run must stop at the first request (the warm-up, before anything is
// measured), the starter must say in one line that the key is the problem,
// exit 1, and still write what was measured.
func TestWrongKeyAbortsEarly(t *testing.T) {
	rightKey := "e2e-right-key-" + randHex(8)
	wrongKey := "e2e-wrong-key-" + randHex(8)
	sim := simulator.New(simulator.Config{Latency: 50 * time.Millisecond, APIKey: rightKey, Seed: 3})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	worker := startWorker(t, wrongKey, base)

	id := "e2e-wrong-key-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter, code := runStarter(t, 2*time.Minute,
		"-requests", "4", "-max-tokens", "16", "-id", id, "-out", out, "-timeout", "2m", "-request-timeout", "30s")
	if code != 1 {
		t.Errorf("starter exited %d, want 1\n%s", code, starter.output())
	}
	errLines := lines(starter.stderr.String())
	if len(errLines) != 1 || !strings.Contains(errLines[0], "OPENAI_API_KEY") {
		t.Errorf("starter's stderr: want one line naming OPENAI_API_KEY, got %d lines:\n%s", len(errLines), starter.stderr.String())
	}
	if s := starter.stderr.String(); strings.Contains(s, "goroutine ") || strings.Contains(s, "panic") {
		t.Errorf("starter's stderr holds a stack trace:\n%s", s)
	}

	raw, d := readDoc(t, out)
	if d.SchemaVersion != 1 || d.WorkflowID != id || d.RunID == "" {
		t.Errorf("schema_version %d, workflow_id %q, run_id %q; want 1, %q, non-empty", d.SchemaVersion, d.WorkflowID, d.RunID, id)
	}
	if d.Error == "" || !strings.Contains(d.Error, "OPENAI_API_KEY") {
		t.Errorf("error = %q, want the API key problem", d.Error)
	}
	if d.Conclusion.Verdict != "inconclusive" {
		t.Errorf("verdict = %q, want inconclusive", d.Conclusion.Verdict)
	}
	switch {
	case d.Warmup == nil:
		t.Error("warm-up missing")
	case len(d.Warmup.Requests) != 1:
		t.Errorf("the warm-up has %d records, want exactly 1", len(d.Warmup.Requests))
	default:
		if r := d.Warmup.Requests[0]; r.HTTPStatus != 401 || r.OK {
			t.Errorf("the one request: http_status %d ok %v error %q, want 401", r.HTTPStatus, r.OK, r.Error)
		}
	}
	if !strings.Contains(d.Error, "at the warm-up") {
		t.Errorf("error = %q, want it to say that the warm-up found it", d.Error)
	}
	if d.Sequential != nil && len(d.Sequential.Requests) > 0 {
		t.Errorf("the sequential pass ran after the key was rejected: %d records", len(d.Sequential.Requests))
	}
	if d.Concurrent != nil && len(d.Concurrent.Requests) > 0 {
		t.Errorf("the concurrent pass ran after the key was rejected: %d records", len(d.Concurrent.Requests))
	}
	if st := sim.Stats(); st.ChatRequests != 1 || st.ChatStatusCounts[401] != 1 {
		t.Errorf("simulator saw %d chat requests, statuses %v; want exactly 1, answered 401", st.ChatRequests, st.ChatStatusCounts)
	}

	// The rejected key is not repeated anywhere either (the endpoint's error
	// message shows it redacted).
	worker.stop(t)
	t.Logf("starter stderr: %s", strings.TrimSpace(starter.stderr.String()))
	forms := leakForms(wrongKey)
	checkNoKey(t, "the result JSON", raw, forms)
	checkNoKey(t, "the starter's output", []byte(starter.output()), forms)
	checkNoKey(t, "the worker's output", []byte(worker.output()), forms)
}
