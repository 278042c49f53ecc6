package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// probeDoc is the result JSON's probe section, by its documented names.
type probeDoc struct {
	Probe *struct {
		Levels []struct {
			Concurrency          int            `json:"concurrency"`
			Requests             int            `json:"requests"`
			Successful           int            `json:"successful"`
			Failed               int            `json:"failed"`
			StatusCounts         map[string]int `json:"status_counts"`
			EffectiveParallelism float64        `json:"effective_parallelism"`
			P50LatencySeconds    float64        `json:"p50_latency_seconds"`
			P95LatencySeconds    float64        `json:"p95_latency_seconds"`
			Goodput              *struct {
				Met   int `json:"met"`
				Total int `json:"total"`
			} `json:"goodput"`
		} `json:"levels"`
		MaxConcurrencyServed int  `json:"max_concurrency_served"`
		KneeConcurrency      *int `json:"knee_concurrency"`
		First429Concurrency  *int `json:"first_429_concurrency"`
		Limits               struct {
			RequestsPerMinute *probeLimitDoc `json:"requests_per_minute"`
			TokensPerMinute   *probeLimitDoc `json:"tokens_per_minute"`
		} `json:"limits"`
		RecommendedConcurrency int    `json:"recommended_concurrency"`
		Recommendation         string `json:"recommendation"`
		SLO                    *struct {
			LatencySeconds float64 `json:"latency_seconds"`
		} `json:"slo"`
		Stopped string `json:"stopped"`
		Waits   []struct {
			Before  int     `json:"before"`
			Seconds float64 `json:"seconds"`
		} `json:"waits"`
	} `json:"probe"`
	Conclusion struct{ Text string } `json:"conclusion"`
}

type probeLimitDoc struct {
	Value  int    `json:"value"`
	Source string `json:"source"`
}

// runProbe runs `starter probe` with args to its end and returns the
// starter, its decoded JSON and the HTML report's text.
func runProbe(t *testing.T, args ...string) (*proc, probeDoc, string, []byte) {
	t.Helper()
	html := filepath.Join(t.TempDir(), "probe.html")
	p, raw := runToJSON(t, append(append([]string{"probe"}, args...), "-html", html)...)
	var d probeDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Probe == nil {
		t.Fatalf("the JSON has no probe section\n%s", raw)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatalf("the HTML report: %v", err)
	}
	return p, d, string(page), raw
}

// TestProbeFindsTheConcurrencyCap: against a server that serves at most 4
// requests at once (the rest queue), the probe finds 4 served, and
// recommends 4.
func TestProbeFindsTheConcurrencyCap(t *testing.T) {
	const k = 4
	simulatedEndpoint(t, simulator.Config{Latency: 300 * time.Millisecond, MaxConcurrent: k, Seed: 1})
	id := "probe-cap-" + randHex(4)
	// A generous -slo: every level within it, the endpoint's cap stands.
	p, d, page, raw := runProbe(t, "-max-concurrency", "16", "-max-tokens", "8", "-id", id, "-slo", "latency=30s")
	pr := d.Probe
	if pr.SLO == nil || pr.SLO.LatencySeconds != 30 || !strings.Contains(pr.Recommendation, "and 4 is within the largest level at which 95% of requests met latency ≤ 30s") {
		t.Errorf("slo %+v, recommendation %q", pr.SLO, pr.Recommendation)
	}
	if pr.MaxConcurrencyServed != k || pr.RecommendedConcurrency != k {
		t.Errorf("max_concurrency_served %d, recommended_concurrency %d; want %d and %d\n%s", pr.MaxConcurrencyServed, pr.RecommendedConcurrency, k, k, raw)
	}
	if pr.First429Concurrency != nil || pr.Limits.RequestsPerMinute != nil || pr.Limits.TokensPerMinute != nil {
		t.Errorf("no rate limit: want first_429_concurrency and the limits null\n%s", raw)
	}
	if pr.KneeConcurrency == nil || *pr.KneeConcurrency != k {
		t.Errorf("knee_concurrency = %v, want %d", pr.KneeConcurrency, k)
	}
	var levels []int
	for _, l := range pr.Levels {
		levels = append(levels, l.Concurrency)
		if l.Requests != 2*l.Concurrency || l.Successful != l.Requests || l.StatusCounts["200"] != l.Requests {
			t.Errorf("level %d: %d requests, %d successful, status counts %v; want twice the level, all 200", l.Concurrency, l.Requests, l.Successful, l.StatusCounts)
		}
		if l.Goodput == nil || l.Goodput.Met != l.Requests || l.Goodput.Total != l.Requests {
			t.Errorf("level %d: goodput %+v, want all %d requests within -slo latency=30s", l.Concurrency, l.Goodput, l.Requests)
		}
		if l.Concurrency > k && l.EffectiveParallelism > k+0.5 {
			t.Errorf("level %d: effective parallelism %.2f above the cap of %d", l.Concurrency, l.EffectiveParallelism, k)
		}
	}
	// 8 keeps the cap at 4, parallelism at half the level, where the
	// probe may stop; 16 serves 4 of 16, below half, and is the last level.
	if got := fmtInts(levels); got != "[1,2,4,8]" && got != "[1,2,4,8,16]" {
		t.Errorf("levels %v, want 1,2,4,8 and perhaps 16", levels)
	}
	t.Logf("the probe's table:\n%s", p.stdout.String())
	if d.Conclusion.Text != pr.Recommendation || !strings.Contains(pr.Recommendation, "Use 4 requests at a time") {
		t.Errorf("conclusion %q, recommendation %q", d.Conclusion.Text, pr.Recommendation)
	}
	out := p.stdout.String()
	if !strings.Contains(out, "PROBE") || !strings.Contains(out, "← recommended, knee") || !strings.Contains(out, "Recommended concurrency: 4") {
		t.Errorf("stdout lacks the probe table and the recommendation\n%s", out)
	}
	if !strings.Contains(page, `class="chart probe"`) {
		t.Errorf("the HTML report lacks the probe chart")
	}
	list, code := runStarter(t, time.Minute, "list", "-n", "100")
	line := ""
	for _, l := range lines(list.stdout.String()) {
		if strings.HasPrefix(l, id+" ") {
			line = l
		}
	}
	if code != 0 || !strings.Contains(line, "probe: use 4 at once") {
		t.Errorf("starter list does not show the probe %s with its recommendation (exit %d)\n%s", id, code, list.output())
	}
}

func fmtInts(v []int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestProbeReadsTheRateLimitHeaders: against a server that allows 20
// requests per window and says so in OpenAI's x-ratelimit-* headers, the
// probe reports that limit from the headers, waits for the window between
// levels, and meets its first 429 at 16, the first level of more requests
// (32) than a window holds.
func TestProbeReadsTheRateLimitHeaders(t *testing.T) {
	simulatedEndpoint(t, simulator.Config{Latency: 100 * time.Millisecond, RateLimit: 20, RateWindow: 3 * time.Second, Seed: 1})
	_, d, page, raw := runProbe(t, "-max-concurrency", "16", "-max-tokens", "8")
	pr := d.Probe
	if rpm := pr.Limits.RequestsPerMinute; rpm == nil || rpm.Value != 20 || rpm.Source != "headers" {
		t.Errorf("requests_per_minute = %+v, want 20 from the headers\n%s", rpm, raw)
	}
	if tpm := pr.Limits.TokensPerMinute; tpm == nil || tpm.Value != simulator.DefaultTokenLimit || tpm.Source != "headers" {
		t.Errorf("tokens_per_minute = %+v, want %d from the headers", tpm, simulator.DefaultTokenLimit)
	}
	if pr.First429Concurrency == nil || *pr.First429Concurrency != 16 {
		t.Errorf("first_429_concurrency = %v, want 16\n%s", pr.First429Concurrency, raw)
	}
	if pr.MaxConcurrencyServed != 8 || pr.RecommendedConcurrency != 8 {
		t.Errorf("max_concurrency_served %d, recommended %d; want 8 and 8", pr.MaxConcurrencyServed, pr.RecommendedConcurrency)
	}
	if len(pr.Waits) == 0 || pr.Waits[len(pr.Waits)-1].Before != 16 {
		t.Errorf("waits %+v: want one before level 16, whose 32 requests do not fit in a window", pr.Waits)
	}
	for _, l := range pr.Levels {
		if l.Concurrency < 16 && l.StatusCounts["429"] > 0 {
			t.Errorf("level %d got 429s: the probe should have waited for the window", l.Concurrency)
		}
		if l.Concurrency == 16 && (l.StatusCounts["429"] != 12 || l.Successful != 20) {
			t.Errorf("level 16: status counts %v, want 20 answered and 12 rate-limited", l.StatusCounts)
		}
	}
	if !strings.Contains(page, "first 429") {
		t.Errorf("the HTML report does not mark the first 429")
	}
}
