package htmlreport

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// A comparison's page (RenderComparison): the comparison table, the
// targets side by side (verdict, conclusion, key figures), then every
// target's timelines on ONE time scale, so that their lengths compare
// directly across targets and passes. Its chart elements are the run
// page's, plus:
//
//	<section class="card target" data-target="1" data-verdict="…">  one per target, side by side
//	<tr class="target-row" data-target="1" data-verdict="…">       the comparison table's rows
//	<div class="target-timeline" data-target="1" data-pass="…">      a target's pass, its waterfall with data-scale="shared"

//go:embed comparison.html.tmpl
var comparisonSource string

// comparisonTemplate has the run page's templates (the charts) and the
// comparison page's own body.
var comparisonTemplate = template.Must(template.Must(pageTemplate.Clone()).New("comparison").Parse(comparisonSource))

// comparisonPage is everything the comparison's template shows.
type comparisonPage struct {
	Title, Subtitle string
	// Style is the run page's style sheet, shared by both pages.
	Style     template.CSS
	Rows      []comparisonRow
	Targets   []targetCard
	ScaleNote string
	Passes    []comparedPass
	Parallel  bool
	Cost      string
	Footer    []field
}

type comparisonRow struct {
	Target                                               int
	Endpoint, Model, Verdict, VerdictClass, VerdictLabel string
	Speedup, Parallelism, P50, P95, TTFT, Count429, Cost string
	Error                                                string
}

type targetCard struct {
	Target                              int
	Name, WorkflowID                    string
	Verdict, VerdictClass, VerdictLabel string
	Conclusion, Error, Note             string
	Figures                             []figure
}

// comparedPass is one pass kind, with each target's timeline of it.
type comparedPass struct {
	Pass, Title string
	Targets     []targetTimeline
}

type targetTimeline struct {
	Target  int
	Name    string
	Stats   []string
	Missing string
	NotSent int
	Chart   *waterfall
}

// RenderComparison writes the page of a comparison's document to w.
func RenderComparison(w io.Writer, d report.ComparisonDocument) error {
	b, err := renderComparison(d)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write the HTML report: %w", err)
	}
	return nil
}

// WriteComparisonFile writes the page of a comparison's document to path,
// as WriteFile does.
func WriteComparisonFile(path string, d report.ComparisonDocument) error {
	b, err := renderComparison(d)
	if err != nil {
		return err
	}
	return report.WriteFileAtomic(path, "the HTML report", b)
}

func renderComparison(d report.ComparisonDocument) ([]byte, error) {
	var buf bytes.Buffer
	if err := comparisonTemplate.Execute(&buf, buildComparison(d)); err != nil {
		return nil, fmt.Errorf("render the HTML report: %w", err)
	}
	return buf.Bytes(), nil
}

// pageStyle is the run page's style sheet, read from its template: our
// own text, not input.
func pageStyle() template.CSS {
	_, rest, _ := strings.Cut(pageSource, "<style>")
	css, _, _ := strings.Cut(rest, "</style>")
	return template.CSS(css)
}

func buildComparison(d report.ComparisonDocument) comparisonPage {
	mode := "one after another"
	if d.ParallelTargets {
		mode = "all at once (-parallel-targets)"
	}
	p := comparisonPage{
		Title:    "LLM API concurrency comparison",
		Subtitle: fmt.Sprintf("%d targets, run %s", len(d.Targets), mode),
		Style:    pageStyle(),
		Parallel: d.ParallelTargets,
	}
	if t := displayTime(d.StartedAt); t != "" {
		p.Subtitle += " · " + t
	}
	for _, r := range d.ComparisonTable {
		p.Rows = append(p.Rows, rowOf(r))
	}
	for i, t := range d.Targets {
		p.Targets = append(p.Targets, cardOf(i+1, t))
	}
	p.ScaleNote, p.Passes = comparedTimelines(d.Targets)
	if d.CostUSD != nil {
		p.Cost = "Cost of the comparison: " + testrun.FormatUSD(*d.CostUSD) + " by the usage the endpoints returned."
	}
	p.Footer = []field{
		{Key: "Workflow", Value: d.WorkflowID},
		{Key: "Run", Value: d.RunID},
		{Key: "Started", Value: displayTime(d.StartedAt)},
		{Key: "Finished", Value: displayTime(d.FinishedAt)},
		{Key: "Schema", Value: strconv.Itoa(d.SchemaVersion)},
	}
	return p
}

// orDash is format applied to *v, or "—" for nil.
func orDash(v *float64, format string) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf(format, finite(*v))
}

func rowOf(r report.ComparisonRow) comparisonRow {
	row := comparisonRow{Target: r.Target, Endpoint: r.Endpoint, Model: r.Model, Verdict: r.Verdict,
		Speedup: orDash(r.Speedup, "%.2f×"), Parallelism: orDash(r.EffectiveParallelism, "%.2f"),
		P50: orDash(r.LatencyP50Seconds, "%.2f s"), P95: orDash(r.LatencyP95Seconds, "%.2f s"), TTFT: orDash(r.TTFTP50Seconds, "%.2f s"),
		Count429: strconv.Itoa(r.Count429), Cost: "—", Error: r.Error}
	row.VerdictClass, row.VerdictLabel = verdict(r.Verdict)
	if r.CostUSD != nil {
		row.Cost = testrun.FormatUSD(*r.CostUSD)
	}
	return row
}

func cardOf(n int, t report.TargetDocument) targetCard {
	c := targetCard{Target: n, Name: t.Config.EndpointName + " · " + t.Config.Model, WorkflowID: t.WorkflowID,
		Verdict: t.Conclusion.Verdict, Conclusion: t.Conclusion.Text, Error: t.Error, Figures: figures(t.Document)}
	c.VerdictClass, c.VerdictLabel = verdict(t.Conclusion.Verdict)
	switch {
	case t.Carried:
		c.Note = "Carried over from the comparison this one reran: nothing of it failed, nothing was resent."
	case t.Rerun != nil:
		c.Note = fmt.Sprintf("Merged with run %s: %d failed requests resent.", t.Rerun.Of, len(t.Rerun.Replaced))
	}
	return c
}
