package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/stats"
	"github.com/llmconc/llmconc/testrun"
)

const rule = "============================================================"

// Text writes the terminal report, in the order of the original script:
// configuration, each pass's live lines and summary, comparison, conclusion.
type Text struct {
	W io.Writer
}

// ConfigBlock prints the run's configuration. extra lines (endpoint, run ID,
// links) follow the fixed ones.
func (t Text) ConfigBlock(c Config, extra ...string) {
	fmt.Fprintln(t.W, rule)
	fmt.Fprintln(t.W, "LLM API concurrency test")
	fmt.Fprintln(t.W, rule)
	if c.Probe != nil {
		t.probeConfig(c)
	} else {
		fmt.Fprintf(t.W, "  Requests per pass: %d\n", c.Requests)
	}
	fmt.Fprintf(t.W, "  Model:             %s\n", c.Model)
	fmt.Fprintf(t.W, "  Max tokens:        %d\n", c.MaxTokens)
	if c.Probe == nil {
		fmt.Fprintf(t.W, "  Concurrency:       %d\n", c.Concurrency)
		fmt.Fprintf(t.W, "  Passes:            %s\n", c.Passes)
	}
	fmt.Fprintf(t.W, "  Prompts:           %s\n", c.PromptsSource)
	if c.Retry == "backoff" {
		fmt.Fprintf(t.W, "  Retries:           backoff (429 and 5xx sent again after Retry-After)\n")
	}
	if c.Stream {
		fmt.Fprintf(t.W, "  Streaming:         yes (TTFT, TPOT, inter-chunk gaps, observed server concurrency)\n")
	}
	if c.StreamOff != "" {
		fmt.Fprintf(t.W, "  Streaming:         off: %s\n", c.StreamOff)
	}
	if c.Warmup > 0 {
		fmt.Fprintf(t.W, "  Warm-up:           %d request(s) before the first pass, not measured\n", c.Warmup)
	}
	if c.Order == testrun.OrderConcurrentFirst {
		fmt.Fprintf(t.W, "  Pass order:        concurrent pass first\n")
	}
	if c.Rate > 0 {
		fmt.Fprint(t.W, rateLine(c))
	}
	if len(c.Sweep) > 0 && c.Probe == nil {
		fmt.Fprintf(t.W, "  Sweep levels:      %s\n", strings.Trim(fmt.Sprint(c.Sweep), "[]"))
	}
	for _, e := range extra {
		fmt.Fprintf(t.W, "  %s\n", e)
	}
	fmt.Fprintln(t.W)
}

// PassHeader announces a pass.
func (t Text) PassHeader(pass string, requests, concurrency int) {
	level, sweep := record.Pass(pass).SweepLevel()
	switch {
	case pass == string(record.PassSequential):
		fmt.Fprintf(t.W, "SEQUENTIAL PASS: %d requests, one after another\n", requests)
	case sweep:
		fmt.Fprintf(t.W, "SWEEP LEVEL: %d requests, %d at a time\n", requests, level)
	default:
		fmt.Fprintf(t.W, "CONCURRENT PASS: %d requests, %d at a time\n", requests, concurrency)
	}
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
}

// Request prints one completed request. Requests are numbered as in the
// JSON (index) and the HTML report: #0 to #N-1.
func (t Text) Request(ev testrun.ProgressEvent, total int) {
	try := ""
	if ev.Attempt > 1 {
		try = fmt.Sprintf(" (try %d)", ev.Attempt)
	}
	num := fmt.Sprintf("#%-*d", len(fmt.Sprint(max(total-1, 0))), ev.Index)
	if ev.OK {
		fmt.Fprintf(t.W, "  Request %s%s ✓ Completed in %.2fs\n", num, try, ev.LatencySeconds)
		return
	}
	fmt.Fprintf(t.W, "  Request %s%s ✗ Failed after %.2fs: %s\n", num, try, ev.LatencySeconds, oneLine(ev.Error))
}

// RepeatTable prints the runs of a repeated comparison and the mean speedup
// with its confidence interval.
func (t Text) RepeatTable(r *Repeat) {
	fmt.Fprintln(t.W, "REPEATS")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	fmt.Fprintf(t.W, "  %3s %-11s %14s %14s %9s %8s  %s\n", "run", "first", "sequential (s)", "concurrent (s)", "speedup", "obs. max", "verdict")
	for i, run := range r.Runs {
		obs := "-"
		if run.ObservedMax != nil {
			obs = fmt.Sprint(*run.ObservedMax)
		}
		fmt.Fprintf(t.W, "  %3d %-11s %14.2f %14.2f %8.2fx %8s  %s\n", i+1, run.FirstPass(), run.SequentialSeconds, run.ConcurrentSeconds, run.Speedup, obs, run.Verdict)
	}
	fmt.Fprintf(t.W, "  Mean speedup: %.2fx, 95%% confidence interval %.2f–%.2f\n", r.Speedup.Mean, r.Speedup.Low95, r.Speedup.High95)
	if o := r.Orders; o != nil {
		fmt.Fprintf(t.W, "  By order: sequential first %.2fx (%d runs), concurrent first %.2fx (%d runs), spread %+.0f%%\n",
			o.SequentialFirst.MeanSpeedup, o.SequentialFirst.Runs, o.ConcurrentFirst.MeanSpeedup, o.ConcurrentFirst.Runs, o.SpreadPercent)
	}
	if r.SequentialSeconds != nil && r.ConcurrentSeconds != nil {
		fmt.Fprintf(t.W, "  Sequential total: %.2f–%.2fs (stddev %.2fs); concurrent total: %.2f–%.2fs (stddev %.2fs)\n",
			r.SequentialSeconds.Min, r.SequentialSeconds.Max, r.SequentialSeconds.Stddev,
			r.ConcurrentSeconds.Min, r.ConcurrentSeconds.Max, r.ConcurrentSeconds.Stddev)
	}
	fmt.Fprintln(t.W)
}

// SweepTable prints a sweep's levels, aligned, marking the knee.
func (t Text) SweepTable(levels []analysis.SweepLevel, knee int) {
	fmt.Fprintln(t.W, "SWEEP")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	fmt.Fprintf(t.W, "  %11s %10s %10s %9s %9s %7s %5s\n", "concurrency", "req/s", "tokens/s", "p50 (s)", "p95 (s)", "errors", "429")
	for _, l := range levels {
		mark := ""
		if l.Concurrency == knee {
			mark = "  ← knee"
		}
		fmt.Fprintf(t.W, "  %11d %10.2f %10.1f %9.2f %9.2f %6.0f%% %5d%s\n", l.Concurrency, l.RequestsPerSecond,
			l.OutputTokensPerSecond, l.P50LatencySeconds, l.P95LatencySeconds, 100*l.ErrorRate, l.Count429, mark)
	}
	fmt.Fprintln(t.W)
}

// BarTiming is what a progress bar shows besides its counts: the pass's
// elapsed time and its estimated time left, and the terminal's width.
type BarTiming struct {
	Elapsed time.Duration
	// Columns is the terminal's width; the line fits in it (0: 80).
	Columns int
}

// Bar draws a progress bar of a pass, with the elapsed time and an
// estimate of the time left: in place (a carriage return, the line cleared
// to its end, no newline) for a terminal, where it fits the terminal's
// width so that it never wraps, or as a line of its own.
func (t Text) Bar(done, total, failed int, inPlace bool, tm BarTiming) {
	counts := fmt.Sprintf(" %*d/%d  ✓ %d  ✗ %d", len(fmt.Sprint(total)), done, total, done-failed, failed)
	timing := ""
	if tm.Elapsed > 0 {
		timing = "  " + shortDuration(tm.Elapsed) + " elapsed"
		if done > 0 && done < total {
			left := time.Duration(float64(tm.Elapsed) / float64(done) * float64(total-done))
			timing += ", ~" + shortDuration(left) + " left"
		}
	}
	cols := tm.Columns
	if cols <= 0 {
		cols = 80
	}
	// Two spaces, the brackets, and one column spare: a line as wide as
	// the terminal wraps on some terminals.
	width := min(30, cols-1-4-utf8.RuneCountInString(counts+timing))
	if width < 5 && timing != "" {
		timing, width = "", min(30, cols-1-4-utf8.RuneCountInString(counts))
	}
	line := "  " + strings.TrimLeft(counts, " ") + timing
	if width >= 5 {
		filled := width * done / max(total, 1)
		line = "  [" + strings.Repeat("█", filled) + strings.Repeat("░", width-filled) + "]" + counts + timing
	}
	if inPlace {
		fmt.Fprint(t.W, "\r"+line+"\x1b[K")
		return
	}
	fmt.Fprintln(t.W, line)
}

// shortDuration is 45s, 2m30s or 1h05m.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// EndBar ends the line of a progress bar drawn in place.
func (t Text) EndBar() { fmt.Fprintln(t.W) }

// PassSummary prints a pass's summary figures.
func (t Text) PassSummary(pass string, s analysis.PassSummary) {
	fmt.Fprintf(t.W, "\n  %s summary\n", strings.ToUpper(pass[:1])+pass[1:])
	fmt.Fprintf(t.W, "    Successful:            %d\n", s.Successful)
	fmt.Fprintf(t.W, "    Failed:                %d\n", s.Failed)
	fmt.Fprintf(t.W, "    Total time:            %.2fs\n", s.TotalSeconds)
	if s.Successful > 0 {
		fmt.Fprintf(t.W, "    Average response time: %.2fs\n", s.AverageLatencySeconds)
	} else {
		fmt.Fprintln(t.W, "    Average response time: n/a (no request succeeded)")
	}
	fmt.Fprintf(t.W, "    Start spread:          %.3fs\n", s.StartSpreadSeconds)
	fmt.Fprintf(t.W, "    Max in flight:         %d\n", s.MaxInFlight)
	if s.Connections > 0 || s.ColdConnections > 0 {
		fmt.Fprintf(t.W, "    Connections:           %d (cold requests: %d)\n", s.Connections, s.ColdConnections)
	}
	if w := analysis.BurstWarning(s); w != "" && pass == string(record.PassConcurrent) {
		fmt.Fprintf(t.W, "    %s\n", w)
	}
	t.workers(s)
	if s.OutputTokensPerSecond > 0 {
		fmt.Fprintf(t.W, "    Output tokens/s:       %.1f\n", s.OutputTokensPerSecond)
	}
	if len(s.StatusCounts) > 0 && s.StatusCounts["200"] != s.Successful+s.Failed {
		fmt.Fprintf(t.W, "    HTTP statuses:         %s\n", countLine(s.StatusCounts, statusName))
	}
	if len(s.ErrorKinds) > 0 {
		fmt.Fprintf(t.W, "    Failures by kind:      %s\n", kindLine(s.ErrorKinds))
	}
	if rl := s.RateLimit; rl != nil && rl.Requests != nil && rl.Requests.Remaining != nil {
		fmt.Fprintf(t.W, "    Rate limit (requests): %d remaining of %s, resets in %s\n", *rl.Requests.Remaining, intOr(rl.Requests.Limit, "?"), orDash(rl.Requests.Reset))
	}
	if s.RetryAfterMaxSeconds != nil {
		fmt.Fprintf(t.W, "    Longest Retry-After:   %.0fs\n", *s.RetryAfterMaxSeconds)
	}
	if o := s.ObservedServerConcurrency; o != nil {
		if o.Available {
			fmt.Fprintf(t.W, "    Server concurrency:    max %d, mean %.2f, p50 %d (observed in %d streams)\n", o.Max, o.Mean, o.P50, o.Intervals)
		} else {
			fmt.Fprintf(t.W, "    Server concurrency:    not observable: %s\n", o.Reason)
		}
	}
	if s.SentAfterWorkerLoss > 0 {
		fmt.Fprintf(t.W, "    After a lost worker:   %d sent late by a retried batch, %d of them a second time\n", s.SentAfterWorkerLoss, s.ResentAfterWorkerLoss)
	}
	t.statsTable(s)
	fmt.Fprintln(t.W)
}

// statsTable prints the latency distributions as an aligned table, in ms.
func (t Text) statsTable(s analysis.PassSummary) {
	rows := []struct {
		name string
		sum  *stats.Summary
	}{{"latency", s.Latency}, {"TTFT", s.TTFT}, {"TPOT", s.TPOT}, {"ITL", s.ITL}}
	header := false
	for _, r := range rows {
		if r.sum == nil {
			continue
		}
		if !header {
			header = true
			fmt.Fprintf(t.W, "\n    %-8s %9s %9s %9s %9s %9s %9s %9s\n", "ms", "mean", "p50", "p90", "p95", "p99", "min", "max")
		}
		m := r.sum
		fmt.Fprintf(t.W, "    %-8s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", r.name,
			1000*m.Mean, 1000*m.P50, 1000*m.P90, 1000*m.P95, 1000*m.P99, 1000*m.Min, 1000*m.Max)
	}
}

// countLine lists counts in the order of their keys ("200 ×9, 500 ×1"),
// each key shown as name gives it (as it is when name is nil).
func countLine(counts map[string]int, name func(string) string) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		shown := k
		if name != nil {
			shown = name(k)
		}
		parts[i] = fmt.Sprintf("%s ×%d", shown, counts[k])
	}
	return strings.Join(parts, ", ")
}

// statusName shows HTTP status 0 as "no response".
func statusName(k string) string {
	if k == "0" {
		return "no response"
	}
	return k
}

// kindLine lists error kinds with their counts, the most frequent first.
func kindLine(counts map[string]int) string {
	return strings.Join(KindCounts(counts), ", ")
}

// KindCounts formats error kinds with their counts ("timeout ×2"), the most
// frequent first, ties by name.
func KindCounts(counts map[string]int) []string {
	keys := analysis.ByCount(counts)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	return parts
}

func intOr(p *int, alt string) string {
	if p == nil {
		return alt
	}
	return fmt.Sprint(*p)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return record.CleanLine(s) // an endpoint's text: no control characters
}

// Comparison prints the two passes side by side.
func (t Text) Comparison(c analysis.Comparison) {
	fmt.Fprintln(t.W, "COMPARISON")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	fmt.Fprintf(t.W, "  Sequential total:      %.2fs\n", c.SequentialSeconds)
	fmt.Fprintf(t.W, "  Concurrent total:      %.2fs\n", c.ConcurrentSeconds)
	fmt.Fprintf(t.W, "  Time saved:            %.2fs\n", c.TimeSavedSeconds)
	fmt.Fprintf(t.W, "  Speedup:               %.2fx\n", c.Speedup)
	fmt.Fprintf(t.W, "  Time reduction:        %.1f%%\n", c.TimeReductionPercent)
	fmt.Fprintf(t.W, "  Effective parallelism: %.2f\n", c.EffectiveParallelism)
	fmt.Fprintln(t.W)
}

// Conclusion prints the verdict and its explanation.
func (t Text) Conclusion(c analysis.Conclusion) {
	fmt.Fprintln(t.W, "CONCLUSION")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	fmt.Fprintf(t.W, "  Verdict: %s\n", c.Verdict)
	switch c.Evidence {
	case analysis.EvidenceObserved:
		fmt.Fprintf(t.W, "  Decided by: the overlap of the streamed responses (observed server concurrency)\n")
	case analysis.EvidenceSpeedup:
		fmt.Fprintf(t.W, "  Decided by: the wall-clock speedup\n")
	}
	fmt.Fprintf(t.W, "  %s\n", c.Text)
	fmt.Fprintln(t.W)
}

// Warmup prints the warm-up requests in one line each: they are not
// measured, but a failed or slow one says something about the endpoint.
func (t Text) Warmup(p *Pass) {
	if p == nil || len(p.Requests) == 0 {
		return
	}
	fmt.Fprintln(t.W, "WARM-UP (not measured)")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	for _, r := range p.Requests {
		if r.OK {
			fmt.Fprintf(t.W, "  Warm-up %d: answered in %.2fs\n", r.Index+1, r.LatencySeconds)
			continue
		}
		fmt.Fprintf(t.W, "  Warm-up %d: failed after %.2fs: %s\n", r.Index+1, r.LatencySeconds, oneLine(r.Error))
	}
	fmt.Fprintln(t.W)
}
