package testrun

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/prompts"
)

func TestParseSLO(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *analysis.SLO
	}{
		{"", nil},
		{"  ", nil},
		{"ttft=500ms,tpot=50ms,latency=5s", &analysis.SLO{TTFTSeconds: 0.5, TPOTSeconds: 0.05, LatencySeconds: 5}},
		{"latency=5s", &analysis.SLO{LatencySeconds: 5}},
		{"tpot=20ms, ttft=1.5s", &analysis.SLO{TTFTSeconds: 1.5, TPOTSeconds: 0.02}},
		{" latency = 1m30s ", &analysis.SLO{LatencySeconds: 90}},
	} {
		got, err := ParseSLO(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestParseSLORejects: unknown names, durations that do not parse or are not
// positive, repeats and stray commas are one line each.
func TestParseSLORejects(t *testing.T) {
	for in, want := range map[string]string{
		"ttfb=500ms":                   `unknown objective "ttfb"`,
		"TTFT=500ms":                   `unknown objective "TTFT"`,
		"ttft=500":                     "ttft=500: not a duration",
		"ttft=fast":                    "ttft=fast: not a duration",
		"ttft=":                        "ttft=: not a duration",
		"ttft=0s":                      "ttft=0s: must be positive",
		"latency=-1s":                  "latency=-1s: must be positive",
		"latency=25h":                  "latency=25h: must be positive and at most 24h0m0s",
		"ttft=1s,ttft=2s":              "ttft is set twice",
		"ttft=1s,latency=2s,ttft=1s":   "ttft is set twice",
		"ttft=1s,":                     `"" is not name=duration`,
		",ttft=1s":                     `"" is not name=duration`,
		"ttft":                         `"ttft" is not name=duration`,
		"=1s":                          `"=1s" is not name=duration`,
		"ttft=500ms;latency=5s":        "not a duration",
		"ttft=500ms latency=5s":        "not a duration",
		"ttft=1s,tpot=1s,latency=1ms,": `"" is not name=duration`,
	} {
		got, err := ParseSLO(in)
		if err == nil {
			t.Errorf("%q: accepted as %+v", in, got)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
			t.Errorf("%q: %q, want one line holding %q", in, msg, want)
		}
	}
}

// TestValidateSLO: the objectives of an input (as a rerun reads them from a
// history) are checked too; TTFT and TPOT need streaming.
func TestValidateSLO(t *testing.T) {
	in := Input{Model: "m", Requests: 2, Stream: true, Prompts: prompts.ForRequests(prompts.BuiltIn, 2)}.WithDefaults()
	for _, tc := range []struct {
		slo    *analysis.SLO
		stream bool
		want   string // "" for accepted
	}{
		{nil, true, ""},
		{&analysis.SLO{TTFTSeconds: 0.5}, true, ""},
		{&analysis.SLO{LatencySeconds: 5}, false, ""},
		{&analysis.SLO{TTFTSeconds: 0.5}, false, "streamed responses only"},
		{&analysis.SLO{TPOTSeconds: 0.5, LatencySeconds: 5}, false, "streamed responses only"},
		{&analysis.SLO{}, true, "no objective"},
		{&analysis.SLO{LatencySeconds: -1}, true, "positive"},
		{&analysis.SLO{LatencySeconds: math.NaN()}, true, "positive"},
		{&analysis.SLO{TTFTSeconds: math.Inf(1)}, true, "at most"},
	} {
		in.SLO, in.Stream = tc.slo, tc.stream
		err := in.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v stream %v: %v", tc.slo, tc.stream, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v stream %v: %v, want an error holding %q", tc.slo, tc.stream, err, tc.want)
		}
	}
}

// TestSLOInTheInputJSON: the objectives travel in the run's input (and so
// its history) as seconds, and an input without them has no "slo" field.
func TestSLOInTheInputJSON(t *testing.T) {
	b, err := json.Marshal(Input{SLO: &analysis.SLO{TTFTSeconds: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"slo":{"ttft_seconds":0.5}`) {
		t.Errorf("input JSON %s has no slo", b)
	}
	var back Input
	if err := json.Unmarshal(b, &back); err != nil || back.SLO == nil || back.SLO.TTFTSeconds != 0.5 {
		t.Errorf("read back %+v, %v", back.SLO, err)
	}
	b, _ = json.Marshal(Input{})
	if strings.Contains(string(b), "slo") {
		t.Errorf("input without -slo: %s", b)
	}
}
