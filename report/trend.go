package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/llmconc/llmconc/analysis"
)

// TrendRunOf is the line of a trend for a run's document; start is when
// the run started (in Temporal; the document's started_at when zero).
func TrendRunOf(d Document, start time.Time) analysis.TrendRun {
	if start.IsZero() {
		start, _ = time.Parse(time.RFC3339Nano, d.StartedAt)
	}
	r := NoResultRun(d.WorkflowID, start, "")
	r.Verdict = d.Conclusion.Verdict
	if r.Verdict == "" {
		r.Verdict = analysis.VerdictInconclusive
	}
	if d.Error != "" {
		r.Note = "ended early: " + d.Error
	}
	if d.Comparison != nil {
		r.Speedup, r.Parallelism = d.Comparison.Speedup, d.Comparison.EffectiveParallelism
	}
	if d.Concurrent != nil && d.Concurrent.Latency != nil {
		r.LatencyP50, r.LatencyP95 = d.Concurrent.Latency.P50, d.Concurrent.Latency.P95
	}
	for _, p := range d.Passes() {
		r.RateLimited += analysis.RateLimitedAnswers(p.Requests)
	}
	r.Setup = setupOf(d.Config)
	return r
}

// NoResultRun is the line of a trend for a run without a result, note
// saying why.
func NoResultRun(workflowID string, start time.Time, note string) analysis.TrendRun {
	nan := math.NaN()
	return analysis.TrendRun{WorkflowID: workflowID, Start: start, Note: note,
		Speedup: nan, Parallelism: nan, LatencyP50: nan, LatencyP95: nan}
}

// setupOf names what a run measured, for a trend: runs of different setups
// compare loosely.
func setupOf(c Config) string {
	s := fmt.Sprintf("%s, %d requests, concurrency %d, max_tokens %d, stream %v", c.Passes, c.Requests, c.Concurrency, c.MaxTokens, c.Stream)
	if c.Rate > 0 {
		s += fmt.Sprintf(", rate %g/s", c.Rate)
	}
	return s
}

// WriteTrend writes a trend's table, one line per run, oldest first, then
// the closing line, what changed.
func WriteTrend(w io.Writer, runs []analysis.TrendRun, s analysis.TrendSummary) {
	layout := analysis.TrendTimeLayout(runs)
	width := len(layout)
	fmt.Fprintf(w, "%-*s  %-20s  %8s  %11s  %7s  %7s  %5s  %s\n", width, "STARTED (UTC)", "VERDICT", "SPEEDUP", "PARALLELISM", "P50 (s)", "P95 (s)", "429s", "WORKFLOW ID")
	for _, r := range runs {
		verdict, limited := r.Verdict, fmt.Sprint(r.RateLimited)
		if !r.HasResult() {
			verdict, limited = "-", "-"
		}
		speedup := "-"
		if !math.IsNaN(r.Speedup) {
			speedup = fmt.Sprintf("%.2fx", r.Speedup)
		}
		line := fmt.Sprintf("%-*s  %-20s  %8s  %11s  %7s  %7s  %5s  %s", width, r.Start.UTC().Format(layout), verdict, speedup,
			trendNum(r.Parallelism, "%.2f"), trendNum(r.LatencyP50, "%.2f"), trendNum(r.LatencyP95, "%.2f"), limited, r.WorkflowID)
		if r.Note != "" {
			line += "  (" + r.Note + ")"
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "\nWhat changed: %s.\n", s.Text)
}

// trendNum formats v, or "-" when it is NaN.
func trendNum(v float64, format string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// TrendDocument is a trend as JSON (`starter trend -json`): the runs,
// oldest first, what changed, and the changes one by one. A figure a run
// lacks is null.
type TrendDocument struct {
	Title   string          `json:"title"`
	Runs    []TrendRunJSON  `json:"runs"`
	Changed string          `json:"changed"`
	Events  []TrendEventDoc `json:"events"`
}

// TrendRunJSON is one run of a trend, as JSON.
type TrendRunJSON struct {
	WorkflowID           string   `json:"workflow_id"`
	StartedAt            string   `json:"started_at"`
	Verdict              string   `json:"verdict,omitempty"` // absent for a run without a result
	Speedup              *float64 `json:"speedup"`
	EffectiveParallelism *float64 `json:"effective_parallelism"`
	LatencyP50Seconds    *float64 `json:"latency_p50_seconds"`
	LatencyP95Seconds    *float64 `json:"latency_p95_seconds"`
	Count429             *int     `json:"count_429"`
	Note                 string   `json:"note,omitempty"`
	Setup                string   `json:"setup,omitempty"`
}

// TrendEventDoc is one change of a trend, as JSON: its kind ("step",
// "verdict", "429s began", "429s stopped"), the run it came with, and a
// step's figure and medians or a verdict's change.
type TrendEventDoc struct {
	Kind       string   `json:"kind"`
	WorkflowID string   `json:"workflow_id"`
	StartedAt  string   `json:"started_at"`
	Figure     string   `json:"figure,omitempty"`
	Before     *float64 `json:"before,omitempty"`
	After      *float64 `json:"after,omitempty"`
	AfterRuns  int      `json:"after_runs,omitempty"`
	From       string   `json:"from,omitempty"`
	To         string   `json:"to,omitempty"`
}

// TrendDocumentOf is the JSON form of a trend.
func TrendDocumentOf(title string, runs []analysis.TrendRun, s analysis.TrendSummary) TrendDocument {
	d := TrendDocument{Title: title, Runs: []TrendRunJSON{}, Changed: s.Text, Events: []TrendEventDoc{}}
	for _, r := range runs {
		j := TrendRunJSON{WorkflowID: r.WorkflowID, StartedAt: timestamp(r.Start), Verdict: r.Verdict, Note: r.Note, Setup: r.Setup,
			Speedup: finiteOrNil(r.Speedup), EffectiveParallelism: finiteOrNil(r.Parallelism),
			LatencyP50Seconds: finiteOrNil(r.LatencyP50), LatencyP95Seconds: finiteOrNil(r.LatencyP95)}
		if r.HasResult() {
			n := r.RateLimited
			j.Count429 = &n
		}
		d.Runs = append(d.Runs, j)
	}
	for _, e := range s.Events {
		ev := TrendEventDoc{Kind: e.Kind, WorkflowID: runs[e.At].WorkflowID, StartedAt: timestamp(runs[e.At].Start), Figure: e.Figure, From: e.From, To: e.To}
		if e.Kind == "step" {
			ev.Before, ev.After, ev.AfterRuns = finiteOrNil(e.Before), finiteOrNil(e.After), e.AfterRuns
		}
		d.Events = append(d.Events, ev)
	}
	return d
}

// EncodeTrend writes the JSON form of a trend to w, indented.
func EncodeTrend(w io.Writer, d TrendDocument) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the trend: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the trend: %w", err)
	}
	return nil
}

func finiteOrNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
