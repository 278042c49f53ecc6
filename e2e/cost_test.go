package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/llmconc/llmconc/simulator"
)

// simArrivals reads how many chat completion requests the simulator at
// base (…/v1) has seen.
func simArrivals(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(base, "/v1") + "/sim/arrivals")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var a simulator.Arrivals
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("GET /sim/arrivals: %v: %s", err, b)
	}
	return a.Count
}

// A run whose estimated upper bound of cost is over -max-cost is refused
// before anything is sent: exit 2, one line, no workflow started, and the
// simulator (in its own process, behind a polling worker) sees no request.
func TestMaxCostBelowEstimateSendsNothing(t *testing.T) {
	key := "e2e-cost-key-" + randHex(8)
	base := startSimulatorProcess(t, "-api-key", key, "-latency", "50ms", "-tokens", "8")
	worker := startWorker(t, key, base)
	waitPolling(t, worker, "endpoints=default")

	id := "e2e-max-cost-" + randHex(4)
	// 21 requests (both passes of 10 and the warm-up) of up to 100
	// completion tokens at $10 per million: at least $0.021.
	p, code := runStarter(t, time.Minute, "-requests", "10", "-price-input", "10", "-price-output", "10",
		"-max-cost", "0.01", "-id", id, "-out", t.TempDir()+"/r.json")
	if code != 2 {
		t.Fatalf("starter exited %d, want 2\n%s", code, p.output())
	}
	line := strings.TrimSpace(p.stderr.String())
	if strings.Count(line, "\n") != 0 || !strings.Contains(line, "over -max-cost $0.01: nothing was sent") {
		t.Errorf("stderr is not the one line of the refusal: %q", line)
	}
	if !strings.Contains(line, "could cost up to $0.0") {
		t.Errorf("the refusal does not give the estimate: %q", line)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := tc.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("describe workflow %s: %v, want not found: the refused run was started", id, err)
	}
	if n := simArrivals(t, base); n != 0 {
		t.Errorf("the simulator saw %d chat requests, want 0", n)
	}
}

// costDoc is the result JSON's cost section, by its documented names.
type costDoc struct {
	Cost *struct {
		EstimatedMaxUSD  *float64 `json:"estimated_max_usd"`
		ActualUSD        *float64 `json:"actual_usd"`
		PromptTokens     int      `json:"prompt_tokens"`
		CompletionTokens int      `json:"completion_tokens"`
		Estimate         struct {
			Requests         int `json:"requests"`
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"estimate"`
		Prices *struct {
			Input  float64 `json:"input_usd_per_million_tokens"`
			Output float64 `json:"output_usd_per_million_tokens"`
			Source string  `json:"source"`
		} `json:"prices"`
	} `json:"cost"`
}

// A run with prices reports, in its JSON and on the terminal, its
// estimate and what it cost by the usage the endpoint returned.
func TestCostReported(t *testing.T) {
	key := "e2e-cost-key-" + randHex(8)
	base := startSimulatorProcess(t, "-api-key", key, "-latency", "50ms", "-tokens", "8")
	startWorker(t, key, base)
	p, raw := runToJSON(t, "-requests", "4", "-max-tokens", "16", "-price-input", "2", "-price-output", "8",
		"-max-cost", "1", "-id", "e2e-cost-"+randHex(4))
	var d costDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Cost
	if c == nil || c.Prices == nil || c.EstimatedMaxUSD == nil || c.ActualUSD == nil {
		t.Fatalf("cost section incomplete:\n%s", raw)
	}
	t.Logf("cost: estimated at most $%g (%d requests, %d + %d tokens), actual $%g (%d + %d tokens)",
		*c.EstimatedMaxUSD, c.Estimate.Requests, c.Estimate.PromptTokens, c.Estimate.CompletionTokens, *c.ActualUSD, c.PromptTokens, c.CompletionTokens)
	if c.Prices.Input != 2 || c.Prices.Output != 8 || c.Prices.Source != "-price-input/-price-output" {
		t.Errorf("prices %+v, want 2 and 8 from the flags", *c.Prices)
	}
	// 4 + 4 measured requests and 1 warm-up; the simulator answers 8 tokens.
	if c.Estimate.Requests != 9 || c.Estimate.CompletionTokens != 9*16 {
		t.Errorf("estimate %+v, want 9 requests of up to 16 completion tokens", c.Estimate)
	}
	if c.PromptTokens <= 0 || c.PromptTokens > c.Estimate.PromptTokens || c.CompletionTokens != 9*8 {
		t.Errorf("usage %d prompt, %d completion tokens; want prompt tokens within the estimate %d, and 72 completion",
			c.PromptTokens, c.CompletionTokens, c.Estimate.PromptTokens)
	}
	want := (float64(c.PromptTokens)*2 + float64(c.CompletionTokens)*8) / 1e6
	if d := *c.ActualUSD - want; d > 1e-12 || d < -1e-12 || *c.ActualUSD > *c.EstimatedMaxUSD {
		t.Errorf("actual_usd %g, want %g, at most the estimate %g", *c.ActualUSD, want, *c.EstimatedMaxUSD)
	}
	for _, s := range []string{"Cost estimate: at most $", "COST", "by the usage the endpoint returned"} {
		if !strings.Contains(p.stdout.String(), s) {
			t.Errorf("the terminal lacks %q:\n%s", s, p.stdout.String())
		}
	}
}
