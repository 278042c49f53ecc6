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

// TestSweepFindsTheKnee: against a server that serves at most 8 requests at
// once, a sweep over 1..16 finds the knee at 8.
func TestSweepFindsTheKnee(t *testing.T) {
	sim, _ := simulatedEndpoint(t, simulator.Config{Latency: 200 * time.Millisecond, MaxConcurrent: 8, Seed: 1})
	out := filepath.Join(t.TempDir(), "sweep.json")
	p, raw := runToJSON(t, "-requests", "16", "-max-tokens", "8", "-sweep", "1,2,4,8,16", "-html", strings.TrimSuffix(out, ".json")+".html")
	var d struct {
		Sequential *json.RawMessage `json:"sequential"`
		Sweep      *struct {
			Knee   int `json:"knee"`
			Levels []struct {
				Concurrency       int     `json:"concurrency"`
				RequestsPerSecond float64 `json:"requests_per_second"`
				ErrorRate         float64 `json:"error_rate"`
			} `json:"levels"`
			Passes []struct {
				MaxInFlight int               `json:"max_in_flight"`
				Requests    []json.RawMessage `json:"requests"`
			} `json:"passes"`
		} `json:"sweep"`
		Conclusion struct{ Text string } `json:"conclusion"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Sweep == nil || len(d.Sweep.Levels) != 5 || len(d.Sweep.Passes) != 5 {
		t.Fatalf("want 5 sweep levels with their passes:\n%s", raw)
	}
	if d.Sequential != nil && string(*d.Sequential) != "null" {
		t.Errorf("a sweep runs no sequential pass")
	}
	if d.Sweep.Knee != 8 {
		t.Errorf("knee = %d, want 8; levels %+v", d.Sweep.Knee, d.Sweep.Levels)
	}
	for i, level := range []int{1, 2, 4, 8, 16} {
		// The client keeps the level in flight; the server queues what is
		// over its cap.
		if got := d.Sweep.Passes[i].MaxInFlight; got != level || d.Sweep.Levels[i].Concurrency != level {
			t.Errorf("level %d: max_in_flight %d, want %d", d.Sweep.Levels[i].Concurrency, got, level)
		}
		if len(d.Sweep.Passes[i].Requests) != 16 {
			t.Errorf("level %d has %d requests, want 16", d.Sweep.Levels[i].Concurrency, len(d.Sweep.Passes[i].Requests))
		}
	}
	if !strings.Contains(d.Conclusion.Text, "sustains about 8 simultaneous requests") {
		t.Errorf("conclusion must name the knee: %q", d.Conclusion.Text)
	}
	stdout := p.stdout.String()
	if !strings.Contains(stdout, "SWEEP") || !strings.Contains(stdout, "← knee") {
		t.Errorf("stdout lacks the sweep table with the knee\n%s", stdout)
	}
	html, err := os.ReadFile(strings.TrimSuffix(out, ".json") + ".html")
	if err != nil || !strings.Contains(string(html), `class="chart sweep"`) {
		t.Errorf("the HTML report lacks the sweep charts (%v)", err)
	}
	if sim.Stats().MaxInFlight != 8 {
		t.Errorf("the simulator served %d at once, want its cap of 8", sim.Stats().MaxInFlight)
	}
}
