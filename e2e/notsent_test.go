package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestRequestsNeverSentKeepTheirPrompts runs past its -timeout during the
// sequential pass: the workflow's result holds the requests never sent as
// indexes (testrun.PassResult.NotSent), and the starter's JSON has them as
// failed records again, each with its prompt from the run's input and the
// reason.
func TestRequestsNeverSentKeepTheirPrompts(t *testing.T) {
	sim, _ := simulatedEndpoint(t, simulator.Config{Latency: 2 * time.Second, Seed: 5})

	prompts := []string{"first prompt never sent at once", "second prompt never sent", "third prompt never sent"}
	promptsFile := filepath.Join(t.TempDir(), "prompts.txt")
	if err := os.WriteFile(promptsFile, []byte(strings.Join(prompts, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := "e2e-not-sent-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter, _ := runStarter(t, 2*time.Minute, "-warmup", "0", "-requests", "3", "-max-tokens", "8", "-prompts", promptsFile,
		"-id", id, "-out", out, "-html", "none", "-timeout", "1s", "-request-timeout", "30s")
	_, d := readDoc(t, out)
	if d.Concurrent == nil || len(d.Concurrent.Requests) != len(prompts) {
		t.Fatalf("the concurrent pass: want %d records, got %+v\n%s", len(prompts), d.Concurrent, starter.output())
	}
	for i, rec := range d.Concurrent.Requests {
		if rec.Index != i || rec.Prompt != prompts[i] || rec.OK || rec.SentAt != "" ||
			!strings.Contains(rec.Error, "not sent: the run's -timeout had passed") {
			t.Errorf("concurrent record %d: index %d, prompt %q, ok %v, sent_at %q, error %q; want never sent, with its prompt",
				i, rec.Index, rec.Prompt, rec.OK, rec.SentAt, rec.Error)
		}
	}
	if d.Concurrent.Failed != len(prompts) {
		t.Errorf("the concurrent pass's failed = %d, want %d", d.Concurrent.Failed, len(prompts))
	}
	if n := sim.Stats().ChatRequests; n > 1 {
		t.Errorf("the simulator saw %d chat requests, want at most the sequential pass's first", n)
	}
}
