package e2e

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/testrun"
)

// rateSeed is the seed of TestRateArrivesAtTheServer's schedule. A schedule
// of 200 Poisson arrivals has its own sample rate, which varies by about
// 1/√199 (7 %) from seed to seed; seed 6's is a typical one (19.8 per
// second, gaps with a coefficient of variation of 0.99), checked below, so
// that the test measures the sending, not the luck of the draw.
const rateSeed = 6

// TestRateArrivesAtTheServer: -rate 20 for 200 requests reaches the
// simulator, its own process, at 20 ± 2 requests per second, with
// Poisson-like gaps (coefficient of variation 0.8 to 1.2), as the seeded
// schedule planned, and the result reports the target and achieved rates
// and the seed.
func TestRateArrivesAtTheServer(t *testing.T) {
	const n, rate = 200, 20.0
	plan := testrun.ArrivalOffsets(n, rate, 1, rateSeed)
	planRate, planCV := gapRateCV(plan)
	if math.Abs(planRate-rate) > 0.5 || math.Abs(planCV-1) > 0.05 {
		t.Fatalf("seed %d's schedule has rate %.2f and CV %.3f: not a typical one", rateSeed, planRate, planCV)
	}
	key := "e2e-key-" + randHex(8)
	base := startSimulatorProcess(t, "-latency", "50ms", "-api-key", key)
	startWorker(t, key, base)
	arrivals := strings.TrimSuffix(base, "/v1") + "/sim/arrivals"

	_, raw := runToJSON(t, "-warmup", "0", "-passes", "concurrent", "-requests", "200", "-max-tokens", "8",
		"-rate", "20", "-seed", "6", "-stream=false")
	var d struct {
		Config struct {
			Rate       float64 `json:"rate"`
			Burstiness float64 `json:"burstiness"`
			Seed       int64   `json:"seed"`
		} `json:"config"`
		Concurrent struct {
			Successful   int      `json:"successful"`
			TargetRate   *float64 `json:"target_rate"`
			AchievedRate *float64 `json:"achieved_rate"`
			ArrivalGapCV *float64 `json:"arrival_gap_cv"`
		} `json:"concurrent"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Config.Rate != rate || d.Config.Burstiness != 1 || d.Config.Seed != rateSeed {
		t.Errorf("config: rate %g, burstiness %g, seed %d; want 20, 1, %d", d.Config.Rate, d.Config.Burstiness, d.Config.Seed, rateSeed)
	}
	c := d.Concurrent
	if c.Successful != n || c.TargetRate == nil || *c.TargetRate != rate || c.AchievedRate == nil || math.Abs(*c.AchievedRate-rate) > 2 {
		t.Errorf("concurrent pass: %d successful, target_rate %v, achieved_rate %v; want %d, 20, 20 ± 2", c.Successful, ptr(c.TargetRate), ptr(c.AchievedRate), n)
	}

	// The server's view.
	resp, err := http.Get(arrivals + "?times=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seen struct {
		Count         int         `json:"count"`
		SpreadSeconds float64     `json:"spread_seconds"`
		Times         []time.Time `json:"times"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil {
		t.Fatal(err)
	}
	if seen.Count != n || len(seen.Times) != n {
		t.Fatalf("the simulator saw %d arrivals, want %d", seen.Count, n)
	}
	offsets := make([]time.Duration, n)
	for i, at := range seen.Times {
		offsets[i] = at.Sub(seen.Times[0])
	}
	gotRate, gotCV := gapRateCV(offsets)
	t.Logf("at the simulator: %d arrivals over %.2fs, %.2f per second, gap CV %.3f (schedule: %.2f per second, CV %.3f; result: achieved_rate %.2f, arrival_gap_cv %.3f)",
		n, seen.SpreadSeconds, gotRate, gotCV, planRate, planCV, ptr(c.AchievedRate), ptr(c.ArrivalGapCV))
	if math.Abs(gotRate-rate) > 2 {
		t.Errorf("arrivals at %.2f per second, want 20 ± 2", gotRate)
	}
	if gotCV < 0.8 || gotCV > 1.2 {
		t.Errorf("gap coefficient of variation %.3f, want 0.8 to 1.2 (Poisson: 1)", gotCV)
	}
	// The server saw the planned schedule, not merely some schedule at
	// about that rate.
	if span := plan[n-1].Seconds(); math.Abs(seen.SpreadSeconds-span) > 0.3 {
		t.Errorf("arrivals spread over %.2fs, the schedule over %.2fs", seen.SpreadSeconds, span)
	}
}

// gapRateCV returns the rate of arrivals at offsets (sorted, the first at
// 0) and the coefficient of variation of their gaps.
func gapRateCV(offsets []time.Duration) (rate, cv float64) {
	n := float64(len(offsets) - 1)
	span := (offsets[len(offsets)-1] - offsets[0]).Seconds()
	mean := span / n
	var sq float64
	for i := 1; i < len(offsets); i++ {
		g := (offsets[i] - offsets[i-1]).Seconds() - mean
		sq += g * g
	}
	return 1 / mean, math.Sqrt(sq/n) / mean
}

func ptr(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
