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
// a time, streams, and is five times slower for its first 15 s (other work
// on the machine during the first run's warm-up and sequential pass), in
// its own process. Three repeats, the pass order alternating: every run says
// serialized, with observed server concurrency max 1, decided by the
// streams, although the first run's wall-clock speedup says otherwise.
func TestDriftingSerialServerIsSerialized(t *testing.T) {
	key := "e2e-drift-key-" + randHex(8)
	base := startSimulatorProcess(t, "-api-key", key, "-max-concurrent", "1", "-ttft", "100ms", "-per-token", "20ms",
		"-tokens", "16", "-drift", "step", "-drift-factor", "5", "-drift-for", "15s")
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
