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

// TestOutputModes checks the starter's terminal modes on one endpoint: above
// 20 requests a progress bar replaces the per-request lines; -quiet prints
// only the conclusion; -json prints the result JSON on stdout and the report
// on stderr.
func TestOutputModes(t *testing.T) {
	simulatedEndpoint(t, simulator.Config{Latency: 20 * time.Millisecond, Seed: 1})

	t.Run("progress bar", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.json")
		p, code := runStarter(t, 2*time.Minute, "-requests", "25", "-max-tokens", "8", "-out", out)
		if code != 0 {
			t.Fatalf("starter exited %d\n%s", code, p.output())
		}
		stdout := p.stdout.String()
		if strings.Contains(stdout, "Request 1/25") {
			t.Errorf("per-request lines above 20 requests; want a progress bar\n%s", stdout)
		}
		if got := strings.Count(stdout, "25/25  ✓ 25  ✗ 0"); got != 2 {
			t.Errorf("want one finished progress bar per pass, found %d\n%s", got, stdout)
		}
		for _, want := range []string{"Sequential summary", "Concurrent summary", "COMPARISON", "CONCLUSION"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q", want)
			}
		}
	})

	t.Run("quiet", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.json")
		p, code := runStarter(t, 2*time.Minute, "-requests", "4", "-max-tokens", "8", "-quiet", "-out", out)
		if code != 0 {
			t.Fatalf("starter exited %d\n%s", code, p.output())
		}
		stdout := p.stdout.String()
		if !strings.HasPrefix(stdout, "CONCLUSION") || strings.Contains(stdout, "SEQUENTIAL PASS") || strings.Contains(stdout, "Results saved") {
			t.Errorf("-quiet must print only the conclusion, got:\n%s", stdout)
		}
		if _, d := readDoc(t, out); d.Conclusion.Verdict == "" {
			t.Error("-quiet must still write the JSON")
		}
		html, err := os.ReadFile(strings.TrimSuffix(out, ".json") + ".html")
		if err != nil || !strings.Contains(string(html), `class="chart waterfall"`) {
			t.Errorf("the HTML report next to the JSON is missing or has no timeline (%v)", err)
		}
	})

	t.Run("json", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.json")
		p, code := runStarter(t, 2*time.Minute, "-requests", "4", "-max-tokens", "8", "-json", "-html", "none", "-out", out)
		if code != 0 {
			t.Fatalf("starter exited %d\n%s", code, p.output())
		}
		var d resultDoc
		if err := json.Unmarshal(p.stdout.Bytes(), &d); err != nil {
			t.Fatalf("-json: stdout is not the result JSON: %v\n%s", err, p.stdout.String())
		}
		checkCompleted(t, d, d.WorkflowID, 4)
		fileRaw, _ := readDoc(t, out)
		if string(fileRaw) != p.stdout.String() {
			t.Error("-json: stdout differs from the written file")
		}
		if !strings.Contains(p.stderr.String(), "CONCLUSION") {
			t.Errorf("-json: the report belongs on stderr\n%s", p.stderr.String())
		}
		if _, err := os.Stat(strings.TrimSuffix(out, ".json") + ".html"); !os.IsNotExist(err) {
			t.Errorf("-html none must write no HTML report (stat: %v)", err)
		}
	})
}
