package e2e

import (
	"encoding/json"
	"strconv"
	"testing"
)

// observedDoc is what these tests read of the result JSON.
type observedDoc struct {
	Config struct {
		Stream bool   `json:"stream"`
		Warmup int    `json:"warmup"`
		Order  string `json:"order"`
	} `json:"config"`
	Warmup *struct {
		Requests []struct {
			Pass   string `json:"pass"`
			Prompt string `json:"prompt"`
			OK     bool   `json:"ok"`
		} `json:"requests"`
	} `json:"warmup"`
	Sequential *struct {
		Successful int `json:"successful"`
		Requests   []struct {
			Prompt string `json:"prompt"`
		} `json:"requests"`
		Observed *observed `json:"observed_server_concurrency"`
	} `json:"sequential"`
	Concurrent *struct {
		Successful int       `json:"successful"`
		Observed   *observed `json:"observed_server_concurrency"`
	} `json:"concurrent"`
	Comparison *struct {
		Speedup float64 `json:"speedup"`
	} `json:"comparison"`
	Repeat *struct {
		Runs []struct {
			Order       string  `json:"order"`
			Speedup     float64 `json:"speedup"`
			Verdict     string  `json:"verdict"`
			Evidence    string  `json:"evidence"`
			ObservedMax *int    `json:"observed_max"`
		} `json:"runs"`
		Orders *struct {
			SpreadPercent float64 `json:"spread_percent"`
		} `json:"orders"`
	} `json:"repeat"`
	Conclusion struct {
		Verdict  string `json:"verdict"`
		Evidence string `json:"evidence"`
		Text     string `json:"text"`
	} `json:"conclusion"`
}

type observed struct {
	Available bool    `json:"available"`
	Reason    string  `json:"reason"`
	Max       int     `json:"max"`
	Mean      float64 `json:"mean"`
	P50       int     `json:"p50"`
	Intervals int     `json:"intervals"`
}

// TestDriftingSerialServerIsSerialized: a server that serves one request at
// a time, streams, and is five times slower for its first 20 s (other work
// on the machine during the first run's warm-up and sequential pass), in
// its own process. Three repeats, the pass order alternating: every run says
// serialized, with observed server concurrency max 1, decided by the
// streams, although the first run's wall-clock speedup says otherwise.
func TestDriftingSerialServerIsSerialized(t *testing.T) {
	key := "e2e-drift-key-" + randHex(8)
	// The 250 ms to the first token separates one response's last chunk
	// from the next one's first, far above any delay in reading them.
	base := startSimulatorProcess(t, "-api-key", key, "-max-concurrent", "1", "-ttft", "250ms", "-per-token", "20ms",
		"-tokens", "16", "-drift", "step", "-drift-factor", "5", "-drift-for", "20s")
	startWorker(t, key, base)
	const n = 6
	_, raw := runToJSON(t, "-requests", strconv.Itoa(n), "-max-tokens", "16", "-repeat", "3", "-id", "e2e-drift-serial-"+randHex(4))
	var d observedDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	t.Logf("conclusion: %s", d.Conclusion.Text)
	if d.Repeat == nil || len(d.Repeat.Runs) != 3 {
		t.Fatalf("want 3 runs in repeat:\n%s", raw)
	}
	wantOrder := []string{"sequential_first", "concurrent_first", "sequential_first"}
	for i, r := range d.Repeat.Runs {
		t.Logf("run %d (%s): speedup %.2f, verdict %s by %s, observed max %s", i+1, r.Order, r.Speedup, r.Verdict, r.Evidence, intOrNone(r.ObservedMax))
		if r.Order != wantOrder[i] {
			t.Errorf("run %d: order %q, want %q", i+1, r.Order, wantOrder[i])
		}
		if r.Verdict != "serialized" || r.Evidence != "observed_server_concurrency" || r.ObservedMax == nil || *r.ObservedMax != 1 {
			t.Errorf("run %d: verdict %s by %s, observed max %s; want serialized by observed_server_concurrency, max 1", i+1, r.Verdict, r.Evidence, intOrNone(r.ObservedMax))
		}
	}
	// The drift fooled the wall clock: the first run's speedup alone would
	// not have said serialized (below 1.5).
	if s := d.Repeat.Runs[0].Speedup; s < 1.5 {
		t.Errorf("the first run's speedup is %.2f: the drift did not take effect", s)
	}
	if d.Conclusion.Verdict != "serialized" {
		t.Errorf("the repeated verdict is %s: %s", d.Conclusion.Verdict, d.Conclusion.Text)
	}
	o := d.Concurrent.Observed
	if o == nil || !o.Available || o.Max != 1 || o.Intervals != n {
		t.Errorf("the last run's concurrent pass: observed %+v, want available, max 1 over %d intervals", o, n)
	}
	if !d.Config.Stream || d.Config.Warmup != 1 {
		t.Errorf("streaming and one warm-up are the defaults: %+v", d.Config)
	}
	if d.Warmup == nil || len(d.Warmup.Requests) != 1 || !d.Warmup.Requests[0].OK || d.Warmup.Requests[0].Pass != "warmup" {
		t.Errorf("the warm-up request is kept apart: %+v", d.Warmup)
	}
	if d.Sequential == nil || len(d.Sequential.Requests) != n {
		t.Errorf("the sequential pass has its %d requests, no more", n)
	}
}

// TestObservedConcurrencyMatchesTheServer: an unlimited server shows all N
// generating at once (concurrent), one capped at K shows K (partially
// concurrent), each in its own process.
func TestObservedConcurrencyMatchesTheServer(t *testing.T) {
	const n = 6
	for _, tc := range []struct {
		name    string
		cap     int
		max     int
		verdict string
	}{
		{"unlimited", 0, n, "concurrent"},
		{"capped_at_3", 3, 3, "partially_concurrent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "e2e-observed-key-" + randHex(8)
			base := startSimulatorProcess(t, "-api-key", key, "-max-concurrent", strconv.Itoa(tc.cap), "-ttft", "100ms",
				"-per-token", "20ms", "-tokens", "16")
			startWorker(t, key, base)
			_, raw := runToJSON(t, "-requests", strconv.Itoa(n), "-max-tokens", "16", "-id", "e2e-observed-"+tc.name+"-"+randHex(4))
			var d observedDoc
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			t.Logf("conclusion: %s", d.Conclusion.Text)
			o := d.Concurrent.Observed
			if o == nil || !o.Available || o.Max != tc.max {
				t.Fatalf("concurrent pass: observed %+v, want available with max %d", o, tc.max)
			}
			if d.Conclusion.Verdict != tc.verdict || d.Conclusion.Evidence != "observed_server_concurrency" {
				t.Errorf("verdict %s by %s, want %s by observed_server_concurrency", d.Conclusion.Verdict, d.Conclusion.Evidence, tc.verdict)
			}
			if s := d.Sequential.Observed; s == nil || !s.Available || s.Max != 1 {
				t.Errorf("the sequential pass never overlaps: %+v", s)
			}
		})
	}
}

func intOrNone(p *int) string {
	if p == nil {
		return "none"
	}
	return strconv.Itoa(*p)
}

// TestEndpointThatDoesNotStream: a server that ignores "stream": true. With
// streaming by default, the warm-up shows it and the run is measured without
// streaming, and says so; with -stream asked for, every request fails as
// not a stream and the verdict is inconclusive.
func TestEndpointThatDoesNotStream(t *testing.T) {
	key := "e2e-nostream-key-" + randHex(8)
	base := startSimulatorProcess(t, "-api-key", key, "-latency", "200ms", "-tokens", "8", "-no-stream")
	startWorker(t, key, base)
	const n = 4
	var d struct {
		Config struct {
			Stream    bool   `json:"stream"`
			StreamOff string `json:"stream_off"`
		} `json:"config"`
		Warmup struct {
			Requests []struct {
				OK        bool   `json:"ok"`
				ErrorKind string `json:"error_kind"`
			} `json:"requests"`
		} `json:"warmup"`
		Sequential, Concurrent struct {
			Successful int                    `json:"successful"`
			ErrorKinds map[string]int         `json:"error_kinds"`
			Observed   map[string]interface{} `json:"observed_server_concurrency"`
		}
		Conclusion struct {
			Verdict, Evidence, Text string
		} `json:"conclusion"`
	}
	_, raw := runToJSON(t, "-requests", strconv.Itoa(n), "-max-tokens", "8", "-id", "e2e-nostream-"+randHex(4))
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Config.Stream || d.Config.StreamOff == "" {
		t.Errorf("config: stream %v, stream_off %q; want false and why", d.Config.Stream, d.Config.StreamOff)
	}
	if len(d.Warmup.Requests) != 1 || d.Warmup.Requests[0].OK || d.Warmup.Requests[0].ErrorKind != "malformed_response" {
		t.Errorf("the warm-up found the plain answer: %+v", d.Warmup.Requests)
	}
	if d.Sequential.Successful != n || d.Concurrent.Successful != n || d.Concurrent.Observed != nil {
		t.Errorf("both passes succeed, not streamed: %d and %d successful, observed %v", d.Sequential.Successful, d.Concurrent.Successful, d.Concurrent.Observed)
	}
	if d.Conclusion.Verdict != "concurrent" || d.Conclusion.Evidence != "speedup" {
		t.Errorf("verdict %s by %s: %s", d.Conclusion.Verdict, d.Conclusion.Evidence, d.Conclusion.Text)
	}

	// -stream given: the user's word, kept.
	_, raw = runToJSON(t, "-requests", strconv.Itoa(n), "-max-tokens", "8", "-stream", "-id", "e2e-nostream-asked-"+randHex(4))
	d.Config.StreamOff, d.Sequential.ErrorKinds = "", nil // absent from the second document
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if !d.Config.Stream || d.Config.StreamOff != "" {
		t.Errorf("config: stream %v, stream_off %q; want true, none", d.Config.Stream, d.Config.StreamOff)
	}
	if d.Sequential.ErrorKinds["malformed_response"] != n || d.Conclusion.Verdict != "inconclusive" {
		t.Errorf("error kinds %v, verdict %s; want %d malformed_response, inconclusive", d.Sequential.ErrorKinds, d.Conclusion.Verdict, n)
	}
}

// TestRampingSerialServerIsSerialized: the same serial, streaming server,
// becoming four times faster over 10 s (a ramp, where the step above is a
// jump), in its own process: serialized, observed max 1.
func TestRampingSerialServerIsSerialized(t *testing.T) {
	key := "e2e-ramp-key-" + randHex(8)
	base := startSimulatorProcess(t, "-api-key", key, "-max-concurrent", "1", "-ttft", "250ms", "-per-token", "20ms",
		"-tokens", "16", "-drift", "ramp", "-drift-factor", "0.25", "-drift-for", "10s")
	startWorker(t, key, base)
	_, raw := runToJSON(t, "-requests", "6", "-max-tokens", "16", "-id", "e2e-ramp-serial-"+randHex(4))
	var d observedDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	t.Logf("speedup %.2f; conclusion: %s", d.Comparison.Speedup, d.Conclusion.Text)
	if o := d.Concurrent.Observed; d.Conclusion.Verdict != "serialized" || d.Conclusion.Evidence != "observed_server_concurrency" || o == nil || o.Max != 1 {
		t.Errorf("verdict %s by %s, observed %+v; want serialized by observed_server_concurrency, max 1", d.Conclusion.Verdict, d.Conclusion.Evidence, o)
	}
}
