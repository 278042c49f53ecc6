package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// Search attributes of a run, for finding runs in the Temporal UI and with
// `temporal workflow list --query`. The starter sets the first three when it
// starts a run on a server where they are registered; the workflow then sets
// the verdict when the run ends.
var (
	ModelAttribute    = temporal.NewSearchAttributeKeyKeyword("LlmModel")
	RequestsAttribute = temporal.NewSearchAttributeKeyInt64("LlmRequests")
	PassesAttribute   = temporal.NewSearchAttributeKeyKeyword("LlmPasses")
	VerdictAttribute  = temporal.NewSearchAttributeKeyKeyword("LlmVerdict")
)

// SearchAttributeTypes names the search attributes and their types, as
// `temporal operator search-attribute create` takes them.
var SearchAttributeTypes = map[string]string{
	ModelAttribute.GetName():    "Keyword",
	RequestsAttribute.GetName(): "Int",
	PassesAttribute.GetName():   "Keyword",
	VerdictAttribute.GetName():  "Keyword",
}

// VerdictAborted is the verdict search attribute of a run that ended early.
const VerdictAborted = "aborted"

// StartSearchAttributes are the search attributes a run starts with.
func StartSearchAttributes(in RunInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		ModelAttribute.ValueSet(in.Model),
		RequestsAttribute.ValueSet(int64(in.Requests)),
		PassesAttribute.ValueSet(in.Passes),
	)
}

// StaticSummary is the one line the Temporal UI shows for a run.
func StaticSummary(in RunInput) string {
	s := fmt.Sprintf("%s on endpoint %s: %d requests, passes %s, concurrency %d", in.Model, in.WithDefaults().Endpoint, in.Requests, in.Passes, in.Concurrency)
	if in.RerunOf != "" {
		s += ", rerun of " + in.RerunOf
	}
	return s
}

// StaticDetails is the run's configuration, in the Markdown that the
// Temporal UI renders under the summary.
func StaticDetails(in RunInput) string {
	in = in.WithDefaults()
	rows := [][2]string{
		{"Endpoint", in.Endpoint},
		{"Model", in.Model},
		{"Requests", fmt.Sprint(in.Requests)},
		{"Passes", in.Passes},
		{"Concurrency", fmt.Sprint(in.Concurrency)},
		{"Max tokens", fmt.Sprint(in.MaxTokens)},
		{"Prompts", in.PromptsSource},
		{"Streaming", fmt.Sprint(in.Stream)},
		{"Retry", in.Retry},
		{"Request timeout", in.RequestTimeout.String()},
		{"Run timeout", in.Timeout.String()},
	}
	if len(in.Sweep) > 0 {
		rows = append(rows, [2]string{"Sweep levels", strings.Trim(fmt.Sprint(in.Sweep), "[]")})
	}
	if in.RerunOf != "" {
		rows = append(rows, [2]string{"Rerun of", in.RerunOf})
	}
	if in.Only != nil {
		n := 0
		for _, idx := range in.Only {
			n += len(idx)
		}
		rows = append(rows, [2]string{"Resends", fmt.Sprintf("%d failed requests only", n)})
	}
	var b strings.Builder
	b.WriteString("| Setting | Value |\n| --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], strings.ReplaceAll(r[1], "|", "\\|"))
	}
	return b.String()
}

// Headline is a run's outcome in brief.
type Headline struct {
	// Verdict is the conclusion's verdict, or VerdictAborted.
	Verdict string
	// Speedup is the sequential total over the concurrent total; 0 when the
	// run did not compare the two.
	Speedup float64
	// Knee is a sweep's knee (0 when it has none or is no sweep).
	Knee int
	// Text is the headline in one line, such as "concurrent, speedup 8.20x".
	Text string
}

// HeadlineOf computes a run's headline from the pass summaries in its result
// (no per-request records needed).
func HeadlineOf(r RunResult) Headline {
	switch {
	case r.Aborted != "":
		return Headline{Verdict: VerdictAborted, Text: "ended early: " + r.Aborted}
	case len(r.Sweep) > 0:
		var levels []analysis.SweepLevel
		for _, p := range r.Sweep {
			levels = append(levels, analysis.LevelOf(p.Concurrency, p.Summary))
		}
		knee, levels := analysis.Knee(levels)
		c := analysis.SweepConclusion(knee, levels)
		h := Headline{Verdict: c.Verdict, Knee: knee, Text: "sweep: no knee"}
		if knee > 0 {
			h.Text = fmt.Sprintf("sweep: knee at %d", knee)
		}
		return h
	case r.Sequential != nil && r.Concurrent != nil:
		cmp := analysis.Compare(r.Sequential.Summary, r.Concurrent.Summary)
		c := analysis.Conclude(&r.Sequential.Summary, &r.Concurrent.Summary, &cmp, r.Config.Requests, r.Config.Concurrency)
		return Headline{Verdict: c.Verdict, Speedup: cmp.Speedup, Text: fmt.Sprintf("%s, speedup %.2fx", c.Verdict, cmp.Speedup)}
	}
	return Headline{Verdict: analysis.VerdictInconclusive, Text: analysis.VerdictInconclusive + ": one pass only"}
}

// enter moves the run to phase and shows it in the current details.
func (r *run) enter(ctx workflow.Context, phase string) {
	r.phase = phase
	r.details(ctx)
}

// details shows the run's state in the Temporal UI's current details: its
// phase and counts while it runs, then its headline.
func (r *run) details(ctx workflow.Context) {
	var b strings.Builder
	switch r.phase {
	case "done", "aborted":
		fmt.Fprintf(&b, "**Verdict: %s**\n\n", HeadlineOf(r.result).Text)
	case PassWarmup:
		fmt.Fprintf(&b, "Sending the **warm-up** (%d unmeasured requests).\n\n", r.in.Warmup)
	default:
		fmt.Fprintf(&b, "Running the **%s** pass.\n\n", r.phase)
	}
	passes := []string{record.PassSequential, record.PassConcurrent}
	for _, l := range r.in.Sweep {
		passes = append(passes, SweepPass(l))
	}
	for _, pass := range passes {
		p := r.progress[pass]
		if p == nil || p.Total == 0 {
			continue
		}
		if p.Summary == nil {
			fmt.Fprintf(&b, "- %s: %d of %d done\n", pass, p.Done, p.Total)
			continue
		}
		fmt.Fprintf(&b, "- %s: %d successful, %d failed, %.2f s in all\n", pass, p.Summary.Successful, p.Summary.Failed, p.Summary.TotalSeconds)
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

// upsertVerdict sets the verdict search attribute, on runs that were started
// with the search attributes (so they are registered on this server).
func (r *run) upsertVerdict(ctx workflow.Context) error {
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(ModelAttribute); !ok {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, VerdictAttribute.ValueSet(HeadlineOf(r.result).Verdict)); err != nil {
		return fmt.Errorf("set the verdict search attribute: %w", err)
	}
	return nil
}
