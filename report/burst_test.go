package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
)

// TestPassSummarySaysWhenTheBurstWasNotClean: the concurrent pass's summary
// counts its connections and, when some were cold, says so in one sentence;
// the sequential pass's cold first request is no warning.
func TestPassSummarySaysWhenTheBurstWasNotClean(t *testing.T) {
	s := analysis.PassSummary{Successful: 3, AverageLatencySeconds: 2, StartSpreadSeconds: 0.01, Connections: 3, ColdConnections: 2}
	var buf bytes.Buffer
	Text{W: &buf}.PassSummary("concurrent", s)
	out := buf.String()
	if !strings.Contains(out, "Connections:           3 (2 requests on a cold one)") || !strings.Contains(out, analysis.BurstWarning(s)) {
		t.Errorf("concurrent summary:\n%s", out)
	}
	buf.Reset()
	Text{W: &buf}.PassSummary("sequential", s)
	if strings.Contains(buf.String(), "not clean") {
		t.Errorf("sequential summary warns:\n%s", buf.String())
	}
}
