package analysis_test

import (
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

func TestConnectionCounts(t *testing.T) {
	warm, cold := true, false
	recs := []record.Request{
		{Index: 0, Connection: "127.0.0.1:1", ConnectionWarm: &warm},
		{Index: 1, Connection: "127.0.0.1:1", ConnectionWarm: &warm},
		{Index: 2, Connection: "127.0.0.1:2", ConnectionWarm: &cold},
		{Index: 3}, // never sent, or measured before connections were
	}
	s := analysis.Summarize(recs)
	if s.Connections != 2 || s.ColdConnections != 1 {
		t.Errorf("connections %d, cold %d; want 2 and 1", s.Connections, s.ColdConnections)
	}
}

func TestBurstWarning(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    analysis.PassSummary
		want string
	}{
		{"clean", analysis.PassSummary{AverageLatencySeconds: 2, StartSpreadSeconds: 0.05}, ""},
		{"no latency", analysis.PassSummary{StartSpreadSeconds: 0.5}, ""},
		{"cold", analysis.PassSummary{AverageLatencySeconds: 2, StartSpreadSeconds: 0.05, ColdConnections: 3}, "3 requests opened their connection"},
		{"spread", analysis.PassSummary{AverageLatencySeconds: 2, StartSpreadSeconds: 0.25}, "spread over 0.250s, more than 10% of the mean latency (2.00s)"},
		{"both", analysis.PassSummary{AverageLatencySeconds: 2, StartSpreadSeconds: 0.25, ColdConnections: 1}, "1 requests opened their connection only when they were sent, and the sends spread over 0.250s"},
	} {
		got := analysis.BurstWarning(tc.s)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) || strings.Count(got, ". ") > 0 {
			t.Errorf("%s: %q, want one sentence with %q", tc.name, got, tc.want)
		}
	}
}
