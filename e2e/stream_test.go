package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestStreamingMetrics: with -stream against a simulator with 300 ms to the
// first token, 20 ms between tokens and 50 tokens, the reported mean TTFT and
// TPOT are within 5 % and the usage tokens are exact.
func TestStreamingMetrics(t *testing.T) {
	key := "e2e-stream-key-" + randHex(8)
	// The simulator runs as its own process, built like the worker: a
	// race-instrumented endpoint in the test's process would add its own
	// delay to the first token.
	base := startSimulatorProcess(t, "-ttft", "300ms", "-per-token", "20ms", "-tokens", "50", "-api-key", key)
	startWorker(t, key, base)

	_, raw := runToJSON(t, "-requests", "4", "-max-tokens", "100", "-stream")
	var d struct {
		Config struct {
			Stream bool `json:"stream"`
		} `json:"config"`
		Sequential streamPass `json:"sequential"`
		Concurrent streamPass `json:"concurrent"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if !d.Config.Stream {
		t.Error("config.stream is false")
	}
	for name, pass := range map[string]*streamPass{"sequential": &d.Sequential, "concurrent": &d.Concurrent} {
		if !pass.Stream || pass.TTFT == nil || pass.TPOT == nil || pass.ITL == nil {
			t.Errorf("%s: stream %v ttft %v tpot %v itl %v; want all set", name, pass.Stream, pass.TTFT, pass.TPOT, pass.ITL)
			continue
		}
		t.Logf("%s: mean TTFT %.1f ms, mean TPOT %.2f ms", name, 1000*pass.TTFT.Mean, 1000*pass.TPOT.Mean)
		if math.Abs(pass.TTFT.Mean-0.300)/0.300 > 0.05 {
			t.Errorf("%s: mean TTFT %.4fs, want within 5%% of 0.300s", name, pass.TTFT.Mean)
		}
		if math.Abs(pass.TPOT.Mean-0.020)/0.020 > 0.05 {
			t.Errorf("%s: mean TPOT %.5fs, want within 5%% of 0.020s", name, pass.TPOT.Mean)
		}
		if pass.ITL.N != 4*49 {
			t.Errorf("%s: ITL pooled over %d gaps, want %d", name, pass.ITL.N, 4*49)
		}
		for i, r := range pass.Requests {
			if !r.OK || !r.Stream || r.CompletionTokens != 50 || r.TokensEstimated || len(r.ChunkGaps) != 49 {
				t.Errorf("%s request %d: ok %v stream %v tokens %d estimated %v gaps %d; want a streamed 50-token answer from usage",
					name, i, r.OK, r.Stream, r.CompletionTokens, r.TokensEstimated, len(r.ChunkGaps))
			}
		}
	}
}

type dist struct {
	Mean float64 `json:"mean"`
	N    int     `json:"n"`
}

// streamPass is what TestStreamingMetrics reads of a pass.
type streamPass struct {
	Stream   bool  `json:"stream"`
	TTFT     *dist `json:"ttft"`
	TPOT     *dist `json:"tpot"`
	ITL      *dist `json:"itl"`
	Requests []struct {
		Stream           bool      `json:"stream"`
		CompletionTokens int       `json:"completion_tokens"`
		TokensEstimated  bool      `json:"tokens_estimated"`
		ChunkGaps        []float64 `json:"chunk_gaps_seconds"`
		OK               bool      `json:"ok"`
	} `json:"requests"`
}

// TestRateLimitTold: a limit of 5 requests a minute and 12 concurrent
// requests: exactly 7 answers are 429, each with Retry-After and the
// x-ratelimit headers in the JSON.
func TestRateLimitTold(t *testing.T) {
	simulatedEndpoint(t, simulator.Config{Latency: 50 * time.Millisecond, RateLimit: 5, RateWindow: time.Minute, Seed: 1})
	_, raw := runToJSON(t, "-warmup", "0", "-requests", "12", "-max-tokens", "8", "-passes", "concurrent")
	var d struct {
		Concurrent struct {
			StatusCounts map[string]int `json:"status_counts"`
			RateLimit    *struct {
				Requests *struct {
					Remaining *int `json:"remaining"`
					Limit     *int `json:"limit"`
				} `json:"requests"`
			} `json:"rate_limit"`
			Requests []struct {
				HTTPStatus int      `json:"http_status"`
				RetryAfter *float64 `json:"retry_after_seconds"`
				RateLimit  *struct {
					LimitRequests *int `json:"limit_requests"`
				} `json:"rate_limit"`
			} `json:"requests"`
		} `json:"concurrent"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Concurrent.StatusCounts["429"] != 7 || d.Concurrent.StatusCounts["200"] != 5 {
		t.Errorf("status_counts %v, want 5×200 and 7×429", d.Concurrent.StatusCounts)
	}
	n429 := 0
	for i, r := range d.Concurrent.Requests {
		if r.RateLimit == nil || r.RateLimit.LimitRequests == nil || *r.RateLimit.LimitRequests != 5 {
			t.Errorf("request %d (%d): x-ratelimit headers missing from the JSON", i, r.HTTPStatus)
		}
		if r.HTTPStatus == 429 {
			n429++
			if r.RetryAfter == nil || *r.RetryAfter <= 0 {
				t.Errorf("request %d: a 429 without retry_after_seconds", i)
			}
		}
	}
	if n429 != 7 {
		t.Errorf("%d records with status 429, want exactly 7", n429)
	}
	rl := d.Concurrent.RateLimit
	if rl == nil || rl.Requests == nil || rl.Requests.Remaining == nil || *rl.Requests.Remaining != 0 {
		t.Errorf("the pass's tightest limit must show 0 requests remaining: %+v", rl)
	}
}

// startSimulatorProcess runs the simulator binary with args on a free port
// and returns its base URL; the test's cleanup stops it.
func startSimulatorProcess(t *testing.T, args ...string) string {
	t.Helper()
	l := simulatorLines(t, 1, args...)[0]
	i := strings.Index(l, "http://")
	if i < 0 {
		t.Fatalf("the simulator did not say where it serves: %q", l)
	}
	return strings.TrimSpace(l[i:])
}

// simulatorLines runs the simulator binary with args on a free port and
// returns the first n lines it prints (where it serves, then, with -tls,
// where its certificate is); the test's cleanup stops it.
func simulatorLines(t *testing.T, n int, args ...string) []string {
	t.Helper()
	cmd := exec.Command(simBin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan []string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		ls := make([]string, n)
		for i := range ls {
			ls[i], _ = r.ReadString('\n')
		}
		lines <- ls
		_, _ = io.Copy(io.Discard, stdout)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case ls := <-lines:
		return ls
	case <-timer.C:
		t.Fatal("the simulator did not start within 30s")
		return nil
	}
}

// TestRateLimitBackoff: the same limit with a short window and -retry
// backoff: every request succeeds in the end, and every try is recorded.
func TestRateLimitBackoff(t *testing.T) {
	sim, _ := simulatedEndpoint(t, simulator.Config{Latency: 50 * time.Millisecond, RateLimit: 5, RateWindow: 2 * time.Second, Seed: 1})
	p, raw := runToJSON(t, "-warmup", "0", "-requests", "12", "-max-tokens", "8", "-passes", "concurrent", "-retry", "backoff")
	var d struct {
		Concurrent struct {
			Successful int `json:"successful"`
			Requests   []struct {
				OK                  bool    `json:"ok"`
				Attempt             int     `json:"attempt"`
				LatencySeconds      float64 `json:"latency_seconds"`
				TotalLatencySeconds float64 `json:"total_latency_seconds"`
				Attempts            []struct {
					Attempt     int      `json:"attempt"`
					HTTPStatus  int      `json:"http_status"`
					RetryAfter  *float64 `json:"retry_after_seconds"`
					WaitSeconds float64  `json:"wait_seconds"`
					SentAt      string   `json:"sent_at"`
				} `json:"attempts"`
			} `json:"requests"`
		} `json:"concurrent"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Concurrent.Successful != 12 || len(d.Concurrent.Requests) != 12 {
		t.Fatalf("%d of %d requests succeeded, want all 12\n%s", d.Concurrent.Successful, len(d.Concurrent.Requests), p.output())
	}
	retried, tries := 0, 0
	for i, r := range d.Concurrent.Requests {
		if !r.OK {
			t.Errorf("request %d failed in the end", i)
		}
		if r.Attempt == 1 {
			if len(r.Attempts) != 0 {
				t.Errorf("request %d succeeded first time but lists tries", i)
			}
			tries++
			continue
		}
		retried++
		tries += len(r.Attempts)
		if len(r.Attempts) != r.Attempt {
			t.Errorf("request %d: attempt %d but %d tries recorded", i, r.Attempt, len(r.Attempts))
			continue
		}
		for k, a := range r.Attempts[:len(r.Attempts)-1] {
			if a.HTTPStatus != 429 || a.RetryAfter == nil || a.SentAt == "" {
				t.Errorf("request %d try %d: status %d retry-after %v; want a recorded 429 with Retry-After", i, k+1, a.HTTPStatus, a.RetryAfter)
			}
			if next := r.Attempts[k+1]; next.WaitSeconds < *a.RetryAfter*0.9 {
				t.Errorf("request %d: waited %.2fs before try %d, less than its Retry-After %.0fs", i, next.WaitSeconds, k+2, *a.RetryAfter)
			}
		}
		if r.TotalLatencySeconds <= r.LatencySeconds {
			t.Errorf("request %d: total latency %.2fs must exceed the last try's %.2fs", i, r.TotalLatencySeconds, r.LatencySeconds)
		}
	}
	if retried < 7 {
		t.Errorf("%d requests were retried, want at least the 7 rate-limited ones", retried)
	}
	if got := sim.Stats().ChatRequests; got != tries {
		t.Errorf("the simulator saw %d requests, the JSON records %d tries", got, tries)
	}
}
