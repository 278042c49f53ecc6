package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/stats"
)

func TestPassSummaryPrintsStatisticsAligned(t *testing.T) {
	remaining, limit := 0, 5
	retry := 42.0
	s := analysis.PassSummary{
		Successful: 5, Failed: 7,
		Latency:               stats.Describe([]float64{1, 2, 3, 4, 5}),
		TTFT:                  stats.Describe([]float64{0.3, 0.31}),
		OutputTokensPerSecond: 12.5,
		StatusCounts:          map[string]int{"200": 5, "429": 7},
		ErrorKinds:            map[string]int{"rate_limited": 5, "timeout": 1, "connection_dropped": 1},
		RateLimit:             &analysis.RateLimitSummary{Requests: &analysis.RateLimitWindow{Remaining: &remaining, Limit: &limit, Reset: "59s"}},
		RetryAfterMaxSeconds:  &retry,
	}
	var buf bytes.Buffer
	Text{W: &buf}.PassSummary("concurrent", s)
	out := buf.String()
	for _, want := range []string{
		"HTTP statuses:         200 ×5, 429 ×7",
		"Failures by kind:      rate_limited ×5, connection_dropped ×1, timeout ×1",
		"Rate limit (requests): 0 remaining of 5, resets in 59s",
		"Longest Retry-After:   42s",
		"Output tokens/s:       12.5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	var header, latency, ttft string
	for _, l := range strings.Split(out, "\n") {
		switch f := strings.Fields(l); {
		case len(f) > 0 && f[0] == "ms":
			header = l
		case len(f) > 0 && f[0] == "latency":
			latency = l
		case len(f) > 0 && f[0] == "TTFT":
			ttft = l
		}
	}
	if header == "" || latency == "" || ttft == "" || strings.Contains(out, "TPOT") {
		t.Fatalf("want a table with latency and TTFT rows and no TPOT row:\n%s", out)
	}
	if len(header) != len(latency) || len(latency) != len(ttft) {
		t.Errorf("table rows are not aligned:\n%s\n%s\n%s", header, latency, ttft)
	}
	if !strings.Contains(latency, "3000.0") {
		t.Errorf("latency p50 of 1..5 s must print as 3000.0 ms: %q", latency)
	}
}

func TestSweepTableMarksTheKnee(t *testing.T) {
	var buf bytes.Buffer
	Text{W: &buf}.SweepTable([]analysis.SweepLevel{
		{Concurrency: 4, RequestsPerSecond: 20},
		{Concurrency: 8, RequestsPerSecond: 39.5},
		{Concurrency: 16, RequestsPerSecond: 40, ErrorRate: 0.25, Count429: 4},
	}, 8)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("want a title, a rule, a header and 3 rows:\n%s", buf.String())
	}
	if !strings.HasSuffix(lines[4], "← knee") || strings.Contains(lines[3], "knee") || strings.Contains(lines[5], "knee") {
		t.Errorf("only the level-8 row is the knee:\n%s", buf.String())
	}
	if !strings.Contains(lines[5], "25%") || !strings.HasSuffix(strings.TrimSpace(lines[5]), "4") {
		t.Errorf("level 16 shows its error rate and 429 count: %q", lines[5])
	}
	if len(lines[2]) != len(strings.TrimSuffix(lines[4], "  ← knee")) {
		t.Errorf("rows not aligned with the header:\n%s", buf.String())
	}
}

// A pass without failures prints no line of failure kinds.
func TestPassSummaryWithoutFailuresHasNoKinds(t *testing.T) {
	var buf bytes.Buffer
	Text{W: &buf}.PassSummary("sequential", analysis.PassSummary{Successful: 3, StatusCounts: map[string]int{"200": 3}})
	if strings.Contains(buf.String(), "Failures by kind") {
		t.Errorf("a pass without failures lists failure kinds:\n%s", buf.String())
	}
}
