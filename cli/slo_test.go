package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/testrun"
)

// TestSLOFlag: -slo's objectives go into the run's input.
func TestSLOFlag(t *testing.T) {
	o, err := parseFlags([]string{"-requests", "3", "-slo", "ttft=500ms,tpot=50ms,latency=5s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := o.runInput()
	if err != nil {
		t.Fatal(err)
	}
	if in.SLO == nil || *in.SLO != (analysis.SLO{TTFTSeconds: 0.5, TPOTSeconds: 0.05, LatencySeconds: 5}) {
		t.Errorf("input SLO %+v", in.SLO)
	}
	o, _ = parseFlags([]string{"-requests", "3"}, &bytes.Buffer{})
	if in, err := o.runInput(); err != nil || in.SLO != nil {
		t.Errorf("without -slo: SLO %+v, %v", in.SLO, err)
	}
}

// TestBadSLOIsRefusedBeforeAnythingIsSent: a bad -slo is one line and exit
// 2, before Temporal is dialed (the line names -slo, not the address).
func TestBadSLOIsRefusedBeforeAnythingIsSent(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-slo", "ttfb=1s"}, `unknown objective "ttfb"`},
		{[]string{"-slo", "ttft=1"}, "ttft=1: not a duration"},
		{[]string{"-slo", "latency=0s"}, "must be positive"},
		{[]string{"-slo", "ttft=1s,ttft=2s"}, "ttft is set twice"},
		{[]string{"-slo", "ttft=1s", "-stream=false"}, "streamed responses only"},
	} {
		code, stdout, stderr := runMain(t, tc.args...)
		if code != ExitBadInput || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want %d and nothing", tc.args, code, stdout, ExitBadInput)
		}
		if line := oneErrorLine(t, stderr); !strings.Contains(line, "-slo") || !strings.Contains(line, tc.want) || strings.Contains(line, deadAddress) {
			t.Errorf("%q: %q, want a line about -slo holding %q", tc.args, line, tc.want)
		}
	}
}

// TestResultSLOOverride: `starter result -slo` replaces a finished run's
// objectives; ttft or tpot on a run not streamed is bad input.
func TestResultSLOOverride(t *testing.T) {
	run := testrun.Result{Config: testrun.Input{Model: "m", Stream: false, SLO: &analysis.SLO{LatencySeconds: 9}}}
	o, err := withSLO(outcome{result: run}, "wf", nil)
	if err != nil || o.result.Config.SLO.LatencySeconds != 9 {
		t.Errorf("no -slo: %+v, %v; want the run's own", o.result.Config.SLO, err)
	}
	o, err = withSLO(outcome{result: run}, "wf", &analysis.SLO{LatencySeconds: 2})
	if err != nil || o.result.Config.SLO.LatencySeconds != 2 {
		t.Errorf("-slo latency=2s: %+v, %v", o.result.Config.SLO, err)
	}
	if _, err := withSLO(outcome{result: run}, "wf", &analysis.SLO{TTFTSeconds: 1}); ExitCode(err) != ExitBadInput || !strings.Contains(err.Error(), "streamed") {
		t.Errorf("-slo ttft on a run not streamed: %v, want bad input", err)
	}
}
