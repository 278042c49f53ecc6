package e2e

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestVerdicts runs the worker and starter binaries against three simulated
// endpoints, one per verdict, and checks the result JSON and what the
// simulator itself saw.
func TestVerdicts(t *testing.T) {
	cases := []struct {
		name          string
		requests      int
		latency       time.Duration
		maxConcurrent int
		verdict       string
		simMaxFlight  int
		check         func(t *testing.T, d resultDoc)
	}{
		{
			name: "unlimited", requests: 8, latency: 300 * time.Millisecond, maxConcurrent: 0,
			verdict: "concurrent", simMaxFlight: 8,
			check: func(t *testing.T, d resultDoc) {
				if d.Concurrent != nil && d.Concurrent.MaxInFlight != 8 {
					t.Errorf("concurrent max_in_flight = %d, want 8", d.Concurrent.MaxInFlight)
				}
			},
		},
		{
			name: "serial", requests: 6, latency: 200 * time.Millisecond, maxConcurrent: 1,
			verdict: "serialized", simMaxFlight: 1,
		},
		{
			name: "capped_at_4", requests: 8, latency: 400 * time.Millisecond, maxConcurrent: 4,
			verdict: "partially_concurrent", simMaxFlight: 4,
			check: func(t *testing.T, d resultDoc) {
				if d.Comparison == nil {
					t.Error("comparison missing")
					return
				}
				if p := d.Comparison.EffectiveParallelism; math.Abs(p-4)/4 > 0.15 {
					t.Errorf("effective_parallelism = %.2f, want within 15%% of 4", p)
				}
			},
		},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			key := "e2e-verdict-key-" + randHex(8)
			sim := simulator.New(simulator.Config{
				Latency:       tt.latency,
				MaxConcurrent: tt.maxConcurrent,
				APIKey:        key,
				Seed:          1,
			})
			base, err := sim.Start("127.0.0.1:0")
			if err != nil {
				t.Fatalf("start the simulator: %v", err)
			}
			t.Cleanup(func() { sim.Close() })
			startWorker(t, key, base) // stopped by the subtest's cleanup, before the simulator

			id := "e2e-verdict-" + tt.name + "-" + randHex(4)
			out := filepath.Join(t.TempDir(), "result.json")
			starter, code := runStarter(t, 2*time.Minute,
				"-requests", strconv.Itoa(tt.requests), "-max-tokens", "16",
				"-id", id, "-out", out, "-timeout", "2m", "-request-timeout", "30s")
			if code != 0 {
				t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
			}
			_, d := readDoc(t, out)
			checkCompleted(t, d, id, tt.requests)
			if d.Config.Endpoint != base {
				t.Errorf("config.endpoint = %q, want %q", d.Config.Endpoint, base)
			}
			if d.Conclusion.Verdict != tt.verdict {
				t.Errorf("verdict = %q, want %q: %s", d.Conclusion.Verdict, tt.verdict, d.Conclusion.Text)
			}
			if tt.check != nil {
				tt.check(t, d)
			}

			st := sim.Stats()
			if st.MaxInFlight != tt.simMaxFlight {
				t.Errorf("simulator MaxInFlight = %d, want %d", st.MaxInFlight, tt.simMaxFlight)
			}
			if want := 2*tt.requests + 1; st.ChatRequests != want || st.ChatStatusCounts[200] != want { // and the warm-up
				t.Errorf("simulator saw %d chat requests, statuses %v; want %d, all 200", st.ChatRequests, st.ChatStatusCounts, want)
			}
			if d.Comparison != nil {
				t.Logf("verdict %s: speedup %.2f, effective parallelism %.2f", d.Conclusion.Verdict, d.Comparison.Speedup, d.Comparison.EffectiveParallelism)
			}
			for _, p := range []struct {
				name string
				pass *passDoc
			}{{"sequential", d.Sequential}, {"concurrent", d.Concurrent}} {
				if p.pass != nil {
					t.Logf("%s: total %.3fs, average latency %.3fs, max in flight %d", p.name, p.pass.TotalSeconds, p.pass.AverageLatencySeconds, p.pass.MaxInFlight)
				}
			}
		})
	}
}
