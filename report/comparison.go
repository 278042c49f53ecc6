package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// ComparisonKind is the kind of a comparison's document; a run's document
// has no kind.
const ComparisonKind = "comparison"

// ComparisonDocument is the result JSON of a comparison (`-endpoint a,b`
// and/or `-model x,y`): each target's complete document, and one table
// that sets them side by side. See docs/compare.md.
type ComparisonDocument struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          string `json:"kind"`
	WorkflowID    string `json:"workflow_id"`
	RunID         string `json:"run_id"`
	StartedAt     string `json:"started_at"`
	FinishedAt    string `json:"finished_at"`
	// ParallelTargets is set when the targets ran at once
	// (-parallel-targets) rather than one after another.
	ParallelTargets bool `json:"parallel_targets"`
	// RerunOf is the comparison this one reran, if any.
	RerunOf         string           `json:"rerun_of,omitempty"`
	ComparisonTable []ComparisonRow  `json:"comparison_table"`
	Targets         []TargetDocument `json:"targets"`
	// CostUSD adds up the targets' cost_usd; null when one is unknown.
	CostUSD *float64 `json:"cost_usd"`
}

// TargetDocument is one target's document: a run's complete result
// document, its workflow_id included.
type TargetDocument struct {
	Document
	// Carried is set when the document is an earlier comparison's run's,
	// which a rerun of failed requests had no reason to resend.
	Carried bool `json:"carried,omitempty"`
}

// ComparisonRow is one target's line of the comparison table. A figure
// the target's run does not have is null.
type ComparisonRow struct {
	Target               int      `json:"target"`
	Endpoint             string   `json:"endpoint"`
	Model                string   `json:"model"`
	WorkflowID           string   `json:"workflow_id"`
	Verdict              string   `json:"verdict"`
	Speedup              *float64 `json:"speedup"`
	EffectiveParallelism *float64 `json:"effective_parallelism"`
	// LatencyPass is the pass the latencies and the TTFT are of: the
	// concurrent pass, or the only pass that ran.
	LatencyPass       string   `json:"latency_pass,omitempty"`
	LatencyP50Seconds *float64 `json:"latency_p50_seconds"`
	LatencyP95Seconds *float64 `json:"latency_p95_seconds"`
	// TTFTP50Seconds is set when the responses were streamed.
	TTFTP50Seconds *float64 `json:"ttft_p50_seconds"`
	// Count429 counts the answers 429 of the target's run, every try
	// of every request (and of the warm-up) counted.
	Count429 int `json:"count_429"`
	// CostUSD is what the run cost by the usage the endpoint returned;
	// null when no price is known.
	CostUSD *float64 `json:"cost_usd"`
	// Error says why the run failed or ended early, if it did.
	Error string `json:"error,omitempty"`
}

// BuildComparison makes the document of a comparison from its result and
// its targets' documents, in the targets' order.
func BuildComparison(workflowID, runID string, r testrun.ComparisonResult, targets []TargetDocument) ComparisonDocument {
	d := ComparisonDocument{
		SchemaVersion:   SchemaVersion,
		Kind:            ComparisonKind,
		WorkflowID:      workflowID,
		RunID:           runID,
		StartedAt:       timestamp(r.StartedAt),
		FinishedAt:      timestamp(r.FinishedAt),
		ParallelTargets: r.Parallel,
		RerunOf:         r.RerunOf,
		ComparisonTable: []ComparisonRow{},
		Targets:         targets,
	}
	sum := 0.0
	d.CostUSD = &sum
	for i, t := range targets {
		row := RowOf(i+1, t.Document)
		d.ComparisonTable = append(d.ComparisonTable, row)
		if row.CostUSD == nil || d.CostUSD == nil {
			d.CostUSD = nil
			continue
		}
		sum += *row.CostUSD
	}
	return d
}

// FailedTarget is the document of a target whose run returned no result
// (it could not start, or failed outright): its settings and why.
func FailedTarget(workflowID, runID string, in testrun.Input, why string) Document {
	return Build(workflowID, runID, testrun.Result{Config: in, Endpoint: record.Endpoint{Name: in.Endpoint}, Aborted: why})
}

// RowOf is the comparison table's row of target n (from 1) with document d.
func RowOf(n int, d Document) ComparisonRow {
	row := ComparisonRow{Target: n, Endpoint: d.Config.EndpointName, Model: d.Config.Model, WorkflowID: d.WorkflowID,
		Verdict: d.Conclusion.Verdict, Error: d.Error}
	if c := d.Comparison; c != nil {
		row.Speedup, row.EffectiveParallelism = &c.Speedup, &c.EffectiveParallelism
	}
	p, name := d.Concurrent, string(record.PassConcurrent)
	if p == nil {
		p, name = d.Sequential, string(record.PassSequential)
	}
	if p != nil {
		row.LatencyPass = name
		if p.Latency != nil {
			row.LatencyP50Seconds, row.LatencyP95Seconds = &p.Latency.P50, &p.Latency.P95
		}
		if p.Stream && p.TTFT != nil {
			row.TTFTP50Seconds = &p.TTFT.P50
		}
	}
	row.Count429 = count429(d)
	if d.Cost != nil {
		row.CostUSD = d.Cost.ActualUSD
	}
	return row
}

// count429 counts the answers 429 of every request of d, every try.
func count429(d Document) int {
	passes := d.Passes()
	if d.Warmup != nil {
		passes = append(passes, d.Warmup)
	}
	n := 0
	for _, p := range passes {
		n += analysis.RateLimitedAnswers(p.Requests)
	}
	return n
}

// WriteComparisonJSON writes the document to path, as WriteJSON does.
func WriteComparisonJSON(path string, d ComparisonDocument) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the result: %w", err)
	}
	return WriteFileAtomic(path, "the result", append(b, '\n'))
}

// EncodeComparisonJSON writes the document to w, indented.
func EncodeComparisonJSON(w io.Writer, d ComparisonDocument) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("write the result JSON: %w", err)
	}
	return nil
}

// ComparisonTable prints the comparison table, aligned: one line per
// target, "-" for a figure it does not have, then each failed target's
// error.
func (t Text) ComparisonTable(d ComparisonDocument) {
	fmt.Fprintln(t.W, "TARGETS SIDE BY SIDE")
	fmt.Fprintln(t.W, strings.Repeat("-", 60))
	tw := tabwriter.NewWriter(t.W, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tendpoint\tmodel\tverdict\tspeedup\tparallelism\tp50 (s)\tp95 (s)\tTTFT p50 (s)\t429s\tcost")
	for _, r := range d.ComparisonTable {
		cost := "-"
		if r.CostUSD != nil {
			cost = testrun.FormatUSD(*r.CostUSD)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Target, r.Endpoint, r.Model, r.Verdict,
			figure(r.Speedup, "%.2fx"), figure(r.EffectiveParallelism, "%.2f"), figure(r.LatencyP50Seconds, "%.2f"),
			figure(r.LatencyP95Seconds, "%.2f"), figure(r.TTFTP50Seconds, "%.2f"), r.Count429, cost)
	}
	_ = tw.Flush()
	for _, r := range d.ComparisonTable {
		if r.Error != "" {
			fmt.Fprintf(t.W, "  Target %d (%s · %s) ended early: %s\n", r.Target, r.Endpoint, r.Model, r.Error)
		}
	}
	if d.ParallelTargets {
		fmt.Fprintln(t.W, "  The targets ran at once (-parallel-targets): targets that share a key or a server may have disturbed each other.")
	}
	fmt.Fprintln(t.W)
}

// figure is *v in format, or "-" when nil.
func figure(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}
