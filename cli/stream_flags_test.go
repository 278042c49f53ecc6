package cli

import (
	"bytes"
	"testing"

	"github.com/llmconc/llmconc/testrun"
)

// Streaming is the default (and may fall back when the endpoint does not
// stream); -stream and -stream=false are the user's word. One warm-up
// request by default, bounded.
func TestStreamAndWarmupFlags(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		stream, auto bool
		warmup       int
		wantErr      bool
	}{
		{nil, true, true, 1, false},
		{[]string{"-stream"}, true, false, 1, false},
		{[]string{"-stream=false"}, false, false, 1, false},
		{[]string{"-warmup", "0"}, true, true, 0, false},
		{[]string{"-warmup", "3"}, true, true, 3, false},
		{[]string{"-warmup", "-1"}, false, false, 0, true},
		{[]string{"-warmup", "11"}, false, false, 0, true},
	} {
		o, err := parseFlags(append([]string{"-requests", "4"}, tc.args...), &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		in, err := o.runInput()
		if tc.wantErr {
			if err == nil || ExitCode(err) != ExitBadInput {
				t.Errorf("%v: want a bad-input error, got %v", tc.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if in.Stream != tc.stream || in.StreamAuto != tc.auto || in.Warmup != tc.warmup {
			t.Errorf("%v: stream %v auto %v warmup %d; want %v %v %d", tc.args, in.Stream, in.StreamAuto, in.Warmup, tc.stream, tc.auto, tc.warmup)
		}
		if in.Order != "" && in.Order != testrun.OrderSequentialFirst {
			t.Errorf("%v: a single run sends the sequential pass first, got %q", tc.args, in.Order)
		}
	}
}
