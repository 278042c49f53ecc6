package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// faultPrompt is one line of the prompt file and the error kind its request
// must get ("" for a success).
type faultPrompt struct {
	prompt, kind string
}

// TestFaultsFromTheEndpoint runs the worker and starter binaries against a
// simulator whose prompts ask for every fault it has ("[fault:NAME]"), once
// streamed and once not. Each request's error_kind in the JSON is the one
// its fault gives, the requests without a fault succeed in both passes, each
// pass counts its error_kinds, and the run completes: every fault holds on
// for an hour, so the starter's exit proves that every wait was bounded by
// -request-timeout.
func TestFaultsFromTheEndpoint(t *testing.T) {
	_, _ = simulatedEndpoint(t, simulator.Config{
		Latency:      20 * time.Millisecond,
		OutputTokens: 6,
		Seed:         1,
		Faults:       simulator.Faults{StallFor: time.Hour, SlowHeadersFor: time.Hour},
	})
	cases := []struct {
		name    string
		args    []string
		prompts []faultPrompt
	}{
		{
			name: "streamed",
			args: []string{"-stream"},
			prompts: []faultPrompt{
				{"Say hello to the first request", ""},
				{"[fault:error500] Say hello to the second request", "http_5xx"},
				{"[fault:error429] Say hello to the third request", "rate_limited"},
				{"[fault:drop] Say hello to the fourth request", "connection_dropped"},
				{"[fault:truncate] Say hello to the fifth request", "stream_truncated"},
				{"[fault:stall-stream] Say hello to the sixth request", "stream_stalled"},
				{"[fault:malformed] Say hello to the seventh request", "malformed_response"},
				{"[fault:slow-headers] Say hello to the eighth request", "slow_headers"},
				{"Say hello to the ninth request", ""},
			},
		},
		{
			name: "plain",
			args: []string{"-stream=false"},
			prompts: []faultPrompt{
				{"Say hello to the first request", ""},
				{"[fault:stall] Say hello to the second request", "timeout"},
				{"[fault:stall-stream] Say hello to the third request", "timeout"},
				{"[fault:truncate] Say hello to the fourth request", "connection_dropped"},
				{"[fault:malformed] Say hello to the fifth request", "malformed_response"},
				{"[fault:error503] Say hello to the sixth request", "http_5xx"},
				{"Say hello to the seventh request", ""},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var lines []string
			for _, p := range tc.prompts {
				lines = append(lines, p.prompt)
			}
			promptFile := filepath.Join(dir, "prompts.txt")
			if err := os.WriteFile(promptFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "result.json")
			n := len(tc.prompts)
			// A 2 s request timeout: a streamed request's header and stall
			// bounds are 1 s. The starter's own bound leaves room for the
			// dev server, not for a wait without a bound.
			starter, code := runStarter(t, 2*time.Minute, append(tc.args,
				"-requests", strconv.Itoa(n), "-max-tokens", "16", "-prompts", promptFile,
				"-request-timeout", "2s", "-timeout", "1m", "-out", out)...)
			if code != 0 {
				t.Fatalf("starter exited %d, want 0: a run with failed requests completes\n%s", code, starter.output())
			}
			if !strings.Contains(starter.stdout.String(), "Failures by kind:") {
				t.Errorf("the summary does not count the failures by kind\n%s", starter.output())
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var d struct {
				Error string     `json:"error"`
				Seq   *faultPass `json:"sequential"`
				Conc  *faultPass `json:"concurrent"`
			}
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			if d.Error != "" {
				t.Errorf("the run ended early: %s", d.Error)
			}
			for name, pass := range map[string]*faultPass{"sequential": d.Seq, "concurrent": d.Conc} {
				if pass == nil {
					t.Errorf("%s pass missing", name)
					continue
				}
				checkFaultPass(t, name, pass, tc.prompts)
			}
		})
	}
}

// faultPass is what TestFaultsFromTheEndpoint reads of a pass.
type faultPass struct {
	Failed     int            `json:"failed"`
	ErrorKinds map[string]int `json:"error_kinds"`
	Requests   []struct {
		Index     int    `json:"index"`
		Prompt    string `json:"prompt"`
		OK        bool   `json:"ok"`
		Error     string `json:"error"`
		ErrorKind string `json:"error_kind"`
		SentAt    string `json:"sent_at"`
	} `json:"requests"`
}

// checkFaultPass checks every record of a pass, and its error_kinds, against
// the prompts.
func checkFaultPass(t *testing.T, name string, pass *faultPass, prompts []faultPrompt) {
	t.Helper()
	if len(pass.Requests) != len(prompts) {
		t.Fatalf("%s: %d records, want %d", name, len(pass.Requests), len(prompts))
	}
	wantKinds := map[string]int{}
	for i, r := range pass.Requests {
		want := prompts[i]
		if r.Index != i || r.Prompt != want.prompt {
			t.Errorf("%s record %d: index %d prompt %q, want %q", name, i, r.Index, r.Prompt, want.prompt)
		}
		if r.SentAt == "" {
			t.Errorf("%s request %d was not sent", name, i)
		}
		if want.kind == "" {
			if !r.OK || r.ErrorKind != "" {
				t.Errorf("%s request %d (no fault): ok %v kind %q error %q; want a success", name, i, r.OK, r.ErrorKind, r.Error)
			}
			continue
		}
		wantKinds[want.kind]++
		if r.OK || r.ErrorKind != want.kind {
			t.Errorf("%s request %d (%s): ok %v kind %q error %q; want error_kind %q", name, i, want.prompt, r.OK, r.ErrorKind, r.Error, want.kind)
		}
	}
	if len(pass.ErrorKinds) != len(wantKinds) {
		t.Errorf("%s: error_kinds %v, want %v", name, pass.ErrorKinds, wantKinds)
	}
	for k, n := range wantKinds {
		if pass.ErrorKinds[k] != n {
			t.Errorf("%s: error_kinds %v, want %v", name, pass.ErrorKinds, wantKinds)
			break
		}
	}
}
