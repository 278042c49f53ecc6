package e2e

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// goodputDoc is what TestGoodput reads of a result: the objectives and each
// pass's goodput, by their documented names.
type goodputDoc struct {
	WorkflowID string `json:"workflow_id"`
	Config     struct {
		SLO *struct {
			TTFTSeconds    float64 `json:"ttft_seconds"`
			LatencySeconds float64 `json:"latency_seconds"`
		} `json:"slo"`
	} `json:"config"`
	Sequential, Concurrent *struct {
		TotalSeconds float64 `json:"total_seconds"`
		Goodput      *struct {
			Met               int            `json:"met"`
			Total             int            `json:"total"`
			RequestsPerSecond float64        `json:"requests_per_second"`
			Missed            map[string]int `json:"missed"`
		} `json:"goodput"`
	}
}

// TestGoodput: against a simulator (its own process) that streams the first
// token after 300 ms and serves 2 requests at once, each taking about
// 550 ms, -slo ttft=550ms holds for every request of the sequential pass, and
// for the 2 of the 4 concurrent requests that did not queue (the other 2 see
// their first token after about 850 ms). The terminal and the HTML report show
// it, `starter result` recomputes the same from the run's history, and
// `starter result -slo ttft=2s` counts all 4 under the looser objective.
func TestGoodput(t *testing.T) {
	key := "e2e-slo-key-" + randHex(8)
	base := startSimulatorProcess(t, "-ttft", "300ms", "-per-token", "50ms", "-tokens", "5", "-max-concurrent", "2", "-api-key", key)
	startWorker(t, key, base)

	dir := t.TempDir()
	out := filepath.Join(dir, "result.json")
	p, code := runStarter(t, 3*time.Minute, "-requests", "4", "-max-tokens", "20", "-stream", "-warmup", "0",
		"-slo", "ttft=550ms,latency=5s", "-out", out)
	if code != 0 {
		t.Fatalf("starter exited %d\n%s", code, p.output())
	}
	d := readGoodput(t, out)
	if d.Config.SLO == nil || d.Config.SLO.TTFTSeconds != 0.55 || d.Config.SLO.LatencySeconds != 5 {
		t.Fatalf("config.slo %+v, want ttft 0.55 s and latency 5 s", d.Config.SLO)
	}
	for name, want := range map[string]int{"sequential": 4, "concurrent": 2} {
		pass := d.Sequential
		if name == "concurrent" {
			pass = d.Concurrent
		}
		if pass == nil || pass.Goodput == nil {
			t.Fatalf("%s: no goodput in the JSON", name)
		}
		g := pass.Goodput
		t.Logf("%s: %d of %d met, %.2f requests/s, missed %v", name, g.Met, g.Total, g.RequestsPerSecond, g.Missed)
		if g.Met != want || g.Total != 4 || g.Missed["ttft"] != 4-want {
			t.Errorf("%s: goodput %d of %d, missed %v; want %d of 4, the rest missing ttft", name, g.Met, g.Total, g.Missed, want)
		}
		if math.Abs(g.RequestsPerSecond-float64(want)/pass.TotalSeconds) > 1e-9 {
			t.Errorf("%s: %v requests/s, want %d over total_seconds %v", name, g.RequestsPerSecond, want, pass.TotalSeconds)
		}
	}
	text := p.output()
	for _, want := range []string{"GOODPUT (ttft ≤ 550ms, latency ≤ 5s)", "Sequential:   4 of 4 met every objective", "Concurrent:   2 of 4 met every objective (50%)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, text)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "result.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<div class="label">Goodput, concurrent</div><div class="value">2 of 4</div>`) {
		t.Error("the HTML report has no goodput figure of the concurrent pass")
	}

	again := filepath.Join(dir, "again.json")
	p, code = runStarter(t, time.Minute, "result", "-out", again, d.WorkflowID)
	if code != 0 {
		t.Fatalf("starter result exited %d\n%s", code, p.output())
	}
	r := readGoodput(t, again)
	if r.Sequential == nil || r.Concurrent == nil || r.Sequential.Goodput == nil || r.Concurrent.Goodput == nil {
		t.Fatal("starter result: no goodput")
	}
	if !reflect.DeepEqual(r.Sequential.Goodput, d.Sequential.Goodput) || !reflect.DeepEqual(r.Concurrent.Goodput, d.Concurrent.Goodput) {
		t.Errorf("starter result counts another goodput: %+v and %+v, the run %+v and %+v",
			*r.Sequential.Goodput, *r.Concurrent.Goodput, *d.Sequential.Goodput, *d.Concurrent.Goodput)
	}

	// Other objectives, counted on the same records without sending anything.
	other := filepath.Join(dir, "other.json")
	p, code = runStarter(t, time.Minute, "result", "-slo", "ttft=2s", "-out", other, d.WorkflowID)
	if code != 0 {
		t.Fatalf("starter result -slo exited %d\n%s", code, p.output())
	}
	r = readGoodput(t, other)
	if r.Config.SLO == nil || r.Config.SLO.TTFTSeconds != 2 || r.Concurrent.Goodput == nil || r.Concurrent.Goodput.Met != 4 {
		t.Errorf("starter result -slo ttft=2s: slo %+v, concurrent goodput %+v; want 4 of 4", r.Config.SLO, r.Concurrent.Goodput)
	}
}

func readGoodput(t *testing.T, path string) goodputDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d goodputDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}
