package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

// comparisonPlanOf is the plan of the flags args, which must be a
// comparison's.
func comparisonPlanOf(t *testing.T, args ...string) (options, comparisonPlan, error) {
	t.Helper()
	o, err := parseFlags(append(args, "-out", filepath.Join(t.TempDir(), "r.json")), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.isComparison() {
		t.Fatalf("%v is not a comparison", args)
	}
	cp, err := o.comparisonPlan(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	return o, cp, err
}

// TestComparisonTargets: the targets are endpoints × models, endpoint by
// endpoint, each priced for its model, on one shared input.
func TestComparisonTargets(t *testing.T) {
	isolate(t)
	_, cp, err := comparisonPlanOf(t, "-endpoint", "a, b", "-model", "gpt-4.1-nano,gpt-4.1-mini", "-requests", "3")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range cp.in.Targets {
		got = append(got, tg.Endpoint+"/"+tg.Model)
		if tg.Prices == nil || tg.CostEstimate == nil || tg.CostEstimate.MaxUSD == nil {
			t.Errorf("target %s/%s is not priced: %+v", tg.Endpoint, tg.Model, tg)
		}
	}
	want := []string{"a/gpt-4.1-nano", "a/gpt-4.1-mini", "b/gpt-4.1-nano", "b/gpt-4.1-mini"}
	if len(got) != len(want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("targets %v, want %v", got, want)
		}
	}
	if cp.id != "concurrency-comparison-20261202T030000.000Z" {
		t.Errorf("default ID %q", cp.id)
	}
	if len(cp.in.Base.Prompts) != 3 || cp.in.Base.Requests != 3 || cp.in.Parallel {
		t.Errorf("base input: %d prompts, %d requests, parallel %v", len(cp.in.Base.Prompts), cp.in.Base.Requests, cp.in.Parallel)
	}
	if in := cp.in.TargetInput(3); in.Endpoint != "b" || in.Model != "gpt-4.1-mini" || in.Validate() != nil {
		t.Errorf("target 4's input: %s/%s, %v", in.Endpoint, in.Model, in.Validate())
	}
}

// TestComparisonBadInput: what does not make a comparison is refused, in
// one line, exit code 2, before anything is sent (no Temporal here).
func TestComparisonBadInput(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "result.json")
	many := "m1,m2,m3,m4,m5,m6,m7"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"empty item", []string{"-endpoint", "a,,b"}, "empty item"},
		{"twice", []string{"-model", "x,y,x"}, `lists "x" twice`},
		{"repeat", []string{"-endpoint", "a,b", "-repeat", "2"}, "-repeat"},
		{"attach", []string{"-endpoint", "a,b", "-attach", "x"}, "-attach"},
		{"parallel alone", []string{"-parallel-targets"}, "-parallel-targets goes with a comparison"},
		{"too many", []string{"-endpoint", "a,b,c", "-model", many}, "2 to 20 targets"},
		{"bad endpoint name", []string{"-endpoint", "a,B C"}, "endpoint"},
		{"bad requests", []string{"-endpoint", "a,b", "-requests", "0"}, "-requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, append(tc.args, "-out", out)...)
			refusedBeforeStart(t, code, stdout, stderr, tc.want, out)
		})
	}
}

// TestComparisonMaxCost: -max-cost caps the sum of the targets' estimates:
// a comparison whose targets each fit under it but not together is
// refused.
func TestComparisonMaxCost(t *testing.T) {
	isolate(t)
	o, cp, err := comparisonPlanOf(t, "-endpoint", "a,b,c", "-model", "gpt-4.1", "-requests", "10", "-max-tokens", "1000")
	if err != nil {
		t.Fatal(err)
	}
	one := *cp.in.Targets[0].CostEstimate.MaxUSD
	sum := *cp.in.Estimate().MaxUSD
	if sum < 2.9*one || sum > 3.1*one {
		t.Fatalf("the sum of 3 targets' estimates is %g, one is %g", sum, one)
	}
	o.cost.maxCost = usdFlag{v: 2 * one, set: true}
	err = o.cost.approve(comparisonCostInput(cp.in), 1, &bytes.Buffer{}, nil, false)
	if ExitCode(err) != ExitBadInput {
		t.Fatalf("a comparison over -max-cost: %v, want refused", err)
	}
	o.cost.maxCost = usdFlag{v: 3.5 * one, set: true}
	if err := o.cost.approve(comparisonCostInput(cp.in), 1, &bytes.Buffer{}, nil, false); err != nil {
		t.Fatalf("a comparison under -max-cost: %v", err)
	}
	// A model without a price: the cap cannot be checked, and the error
	// names that model.
	_, cp, err = comparisonPlanOf(t, "-endpoint", "a,b", "-model", "no-such-model-x")
	if err != nil {
		t.Fatal(err)
	}
	err = o.cost.approve(comparisonCostInput(cp.in), 1, &bytes.Buffer{}, nil, false)
	if ExitCode(err) != ExitBadInput || !bytes.Contains([]byte(err.Error()), []byte("no-such-model-x")) {
		t.Fatalf("unpriced model under -max-cost: %v", err)
	}
}

// TestWriteComparison: the comparison's document goes to the JSON file and
// the HTML report; -quiet prints the table alone, -json the document on
// stdout with the notes on stderr.
func TestWriteComparison(t *testing.T) {
	docs := []report.TargetDocument{
		{Document: report.FailedTarget("c-t1-a-m", "", testrun.Input{Endpoint: "a", Model: "m"}, "gone")},
		{Document: report.FailedTarget("c-t2-b-m", "", testrun.Input{Endpoint: "b", Model: "m"}, "gone too")},
	}
	d := report.BuildComparison("c", "r", testrun.ComparisonResult{}, docs)
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	dest := newDestination(filepath.Join(dir, "c.json"), filepath.Join(dir, "c.html"), &stdout, &stderr, true, false)
	if err := dest.writeComparison(d); err != nil {
		t.Fatal(err)
	}
	if out := stdout.String(); !strings.Contains(out, "TARGETS SIDE BY SIDE") || strings.Contains(out, "Results saved") {
		t.Errorf("-quiet printed:\n%s", out)
	}
	for _, f := range []string{"c.json", "c.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	stdout.Reset()
	dest = newDestination(filepath.Join(dir, "c.json"), "", &stdout, &stderr, false, true)
	if err := dest.writeComparison(d); err != nil {
		t.Fatal(err)
	}
	var got report.ComparisonDocument
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || got.Kind != report.ComparisonKind || len(got.Targets) != 2 {
		t.Errorf("-json printed %q (%v)", stdout.String(), err)
	}
	if !strings.Contains(stderr.String(), "Results saved to") {
		t.Errorf("-json: the notes did not go to stderr: %q", stderr.String())
	}
	if err := comparisonExit(d, nil); ExitCode(err) != ExitFailed || !strings.Contains(err.Error(), "2 of 2 targets failed") {
		t.Errorf("the exit error of two failed targets: %v", err)
	}
}
