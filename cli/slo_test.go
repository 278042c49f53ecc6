package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
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
