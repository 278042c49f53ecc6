package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/report"
)

// TestBarFitsTheTerminal: drawn in place, the bar's line is narrower than
// the terminal at any width (a line as wide wraps, and each redraw then
// adds a line), and shows the elapsed time and the time left.
func TestBarFitsTheTerminal(t *testing.T) {
	for _, cols := range []int{20, 30, 40, 60, 80, 200} {
		var buf bytes.Buffer
		report.Text{W: &buf}.Bar(30, 60, 2, true, report.BarTiming{Elapsed: 75 * time.Second, Columns: cols})
		out := buf.String()
		if !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\x1b[K") || strings.Contains(out, "\n") {
			t.Fatalf("cols %d: %q, want a carriage return, the line, and clear-to-end", cols, out)
		}
		line := strings.TrimSuffix(strings.TrimPrefix(out, "\r"), "\x1b[K")
		if w := utf8.RuneCountInString(line); w >= cols && cols >= 40 {
			t.Errorf("cols %d: line of %d columns: %q", cols, w, line)
		}
		if !strings.Contains(line, "30/60  ✓ 28  ✗ 2") {
			t.Errorf("cols %d: %q lacks the counts", cols, line)
		}
		if cols >= 60 && !strings.Contains(line, "1m15s elapsed, ~1m15s left") {
			t.Errorf("cols %d: %q lacks the elapsed time and the estimate", cols, line)
		}
	}
	var buf bytes.Buffer
	report.Text{W: &buf}.Bar(60, 60, 0, false, report.BarTiming{Elapsed: 149 * time.Second})
	if got := buf.String(); !strings.HasSuffix(got, "60/60  ✓ 60  ✗ 0  2m29s elapsed\n") {
		t.Errorf("finished bar as a line: %q", got)
	}
}

func TestAverageIsNAWithoutSuccess(t *testing.T) {
	var buf bytes.Buffer
	report.Text{W: &buf}.PassSummary("sequential", analysis.PassSummary{Failed: 3, TotalSeconds: 1})
	if !strings.Contains(buf.String(), "Average response time: n/a") || strings.Contains(buf.String(), "0.00s\n    Start") {
		t.Errorf("summary without a success:\n%s", buf.String())
	}
}
