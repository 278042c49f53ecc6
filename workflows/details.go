package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
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

// StartSearchAttributes are the search attributes a run starts with.
func StartSearchAttributes(in testrun.Input) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		ModelAttribute.ValueSet(in.Model),
		RequestsAttribute.ValueSet(int64(in.Requests)),
		PassesAttribute.ValueSet(in.Passes),
	)
}

// StaticSummary is the one line the Temporal UI shows for a run.
func StaticSummary(in testrun.Input) string {
	s := fmt.Sprintf("%s on endpoint %s: %d requests, passes %s, concurrency %d", in.Model, in.WithDefaults().Endpoint, in.Requests, in.Passes, in.Concurrency)
	if in.RerunOf != "" {
		s += ", rerun of " + in.RerunOf
	}
	if in.Probe != nil {
		s = fmt.Sprintf("%s on endpoint %s: probe of concurrency 1 to %d", in.Model, in.WithDefaults().Endpoint, in.Probe.MaxConcurrency)
	}
	return s
}

// StaticDetails is the run's configuration, in the Markdown that the
// Temporal UI renders under the summary.
func StaticDetails(in testrun.Input) string {
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

// enter moves the run to phase and shows it in the current details.
func (st *state) enter(ctx workflow.Context, phase string) {
	st.phase = phase
	st.details(ctx)
}

// details shows the run's state in the Temporal UI's current details: its
// phase and counts while it runs, then its headline.
func (st *state) details(ctx workflow.Context) {
	var b strings.Builder
	switch st.phase {
	case testrun.PhaseDone, testrun.PhaseAborted:
		fmt.Fprintf(&b, "**Verdict: %s**\n\n", testrun.HeadlineOf(st.result).Text)
	case string(record.PassWarmup):
		fmt.Fprintf(&b, "Sending the **warm-up** (%d unmeasured requests).\n\n", st.in.Warmup)
	default:
		fmt.Fprintf(&b, "Running the **%s** pass.\n\n", st.phase)
	}
	passes := []record.Pass{record.PassSequential, record.PassConcurrent}
	for _, l := range st.in.Sweep {
		passes = append(passes, record.SweepPass(l))
	}
	for _, pass := range passes {
		p := st.progress[pass]
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
func (st *state) upsertVerdict(ctx workflow.Context) error {
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(ModelAttribute); !ok {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, VerdictAttribute.ValueSet(testrun.HeadlineOf(st.result).Verdict)); err != nil {
		return fmt.Errorf("set the verdict search attribute: %w", err)
	}
	return nil
}
