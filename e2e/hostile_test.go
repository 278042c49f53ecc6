package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// peakRSS reads a process's peak resident set size (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestHostileEndpoint runs the worker and starter binaries against a
// simulator whose answers are hostile: a 1 GiB completion, a 1 GiB error
// body, a redirect to another port of the same host, and a completion that
// ignores max_tokens. Each request fails with its own error_kind (or, for
// the last, succeeds whole), the run completes, and the worker's peak RSS
// grows by less than 100 MiB over a run of ordinary requests: it read each
// huge body only up to its bound.
func TestHostileEndpoint(t *testing.T) {
	_, worker := simulatedEndpoint(t, simulator.Config{
		Latency:      20 * time.Millisecond,
		OutputTokens: 6,
		Seed:         1,
		Faults:       simulator.Faults{HugeBody: 1 << 30},
	})
	dir := t.TempDir()
	plain := []string{"Say hello to the first request", "Say hello to the second request", "Say hello to the third request", "Say hello to the fourth request"}
	hostile := []faultPrompt{
		{"[fault:huge-body] Say hello to the first request", "response_too_large"},
		{"[fault:huge-error] Say hello to the second request", "http_5xx"},
		{"[fault:redirect] Say hello to the third request", "redirect"},
		{"[fault:ignore-max-tokens] Say hello to the fourth request", ""},
	}
	write := func(name string, lines []string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The baseline: the same runs, streamed and not, without faults.
	plainFile := write("plain.txt", plain)
	for _, args := range [][]string{nil, {"-stream"}} {
		runToJSON(t, append(args, "-requests", "4", "-max-tokens", "100", "-prompts", plainFile)...)
	}
	pid := worker.cmd.Process.Pid
	before := peakRSS(t, pid)

	var lines []string
	for _, p := range hostile {
		lines = append(lines, p.prompt)
	}
	hostileFile := write("hostile.txt", lines)
	for _, args := range [][]string{nil, {"-stream"}} {
		_, raw := runToJSON(t, append(args, "-requests", "4", "-max-tokens", "100", "-prompts", hostileFile, "-request-timeout", "30s")...)
		var d struct {
			Seq  *faultPass `json:"sequential"`
			Conc *faultPass `json:"concurrent"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		for name, pass := range map[string]*faultPass{"sequential": d.Seq, "concurrent": d.Conc} {
			if pass == nil {
				t.Fatalf("%v: %s pass missing", args, name)
			}
			checkFaultPass(t, name, pass, hostile)
		}
	}
	after := peakRSS(t, pid)
	growth := after - before
	t.Logf("worker peak RSS (VmHWM): %d MiB after the plain runs, %d MiB after the hostile ones: +%d MiB", before>>20, after>>20, growth>>20)
	if growth >= 100<<20 {
		t.Errorf("the worker's peak RSS grew by %d MiB (from %d MiB to %d MiB), want less than 100 MiB", growth>>20, before>>20, after>>20)
	}
}

// TestBatchPastThePayloadLimitKeepsItsRecords: twelve requests in one batch
// (-shards 1) to an endpoint that ignores max_tokens answer 200 KiB each,
// 2.4 MiB in all, past Temporal's 2 MiB payload limit. The batch trims its
// responses instead of failing: every request is in the JSON with its 200,
// its timings and response_truncated.
func TestBatchPastThePayloadLimitKeepsItsRecords(t *testing.T) {
	_, _ = simulatedEndpoint(t, simulator.Config{Latency: 20 * time.Millisecond, OutputTokens: 6, Seed: 1})
	const n = 12
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf("[fault:ignore-max-tokens] Say hello to request %d", i+1))
	}
	promptFile := filepath.Join(t.TempDir(), "prompts.txt")
	if err := os.WriteFile(promptFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, raw := runToJSON(t, "-requests", strconv.Itoa(n), "-passes", "concurrent", "-shards", "1", "-max-tokens", "100", "-prompts", promptFile)
	var d struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
		Conc       *struct {
			Requests []struct {
				OK         bool    `json:"ok"`
				Status     int     `json:"http_status"`
				SentAt     string  `json:"sent_at"`
				Latency    float64 `json:"latency_seconds"`
				Response   string  `json:"response"`
				Truncated  bool    `json:"response_truncated"`
				Completion int     `json:"completion_tokens"`
			} `json:"requests"`
		} `json:"concurrent"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Conc == nil || len(d.Conc.Requests) != n {
		t.Fatalf("want %d records in the concurrent pass: %s", n, raw[:min(len(raw), 2000)])
	}
	truncated := 0
	for i, r := range d.Conc.Requests {
		if !r.OK || r.Status != 200 || r.SentAt == "" || r.Latency <= 0 || r.Completion == 0 {
			t.Errorf("request %d: ok %v status %d sent %q latency %v tokens %d: want the endpoint's answer", i, r.OK, r.Status, r.SentAt, r.Latency, r.Completion)
		}
		if r.Truncated {
			truncated++
		}
		if len(r.Response) < 50<<10 {
			t.Errorf("request %d: %d bytes of response, want a fair share of the limit", i, len(r.Response))
		}
	}
	if truncated == 0 {
		t.Errorf("no response_truncated: the batch cannot have fit")
	}

	// The run had a workflow execution timeout: -timeout (30 min by
	// default) and the tries of its batch, a backstop so that it ends.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := tc.DescribeWorkflow(ctx, d.WorkflowID, d.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if et := desc.RawResponse.GetExecutionConfig().GetWorkflowExecutionTimeout().AsDuration(); et < 30*time.Minute || et > 24*time.Hour {
		t.Errorf("workflow execution timeout %s, want -timeout plus the tries of a batch", et)
	}
}
