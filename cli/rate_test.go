package cli

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/llmconc/llmconc/testrun"
)

// -rate picks a seed when none is given and records it in the input; a
// given seed is kept, so a rerun with it sends the same schedule.
func TestRunInputRate(t *testing.T) {
	o, err := parseFlags([]string{"-requests", "30", "-rate", "5"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := o.runInput()
	if err != nil {
		t.Fatal(err)
	}
	if in.Rate != 5 || in.Burstiness != testrun.DefaultBurstiness || in.Seed == 0 {
		t.Errorf("rate %g, burstiness %g, seed %d: want 5, the default, a seed picked", in.Rate, in.Burstiness, in.Seed)
	}
	o, err = parseFlags([]string{"-requests", "30", "-rate", "5", "-burstiness", "4", "-seed", "77"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if in, err = o.runInput(); err != nil || in.Seed != 77 || in.Burstiness != 4 {
		t.Errorf("seed %d, burstiness %g, err %v: want 77, 4", in.Seed, in.Burstiness, err)
	}
	o, _ = parseFlags([]string{"-requests", "30"}, &bytes.Buffer{})
	if in, _ = o.runInput(); in.Rate != 0 || in.Seed != 0 || in.Burstiness != 0 {
		t.Errorf("without -rate: rate %g, seed %d, burstiness %g", in.Rate, in.Seed, in.Burstiness)
	}
}

// Bad rate settings are refused before anything is started, in one line,
// with exit code 2.
func TestMainBadRate(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "result.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rate", "-1"}, "-rate"},
		{[]string{"-rate", "20000"}, "-rate"},
		{[]string{"-burstiness", "2"}, "-burstiness"},
		{[]string{"-seed", "2"}, "-seed"},
		{[]string{"-rate", "5", "-repeat", "3"}, "-repeat"},
		{[]string{"-rate", "5", "-burstiness", "0.001"}, "-burstiness"},
		{[]string{"-rate", "5", "-passes", "sequential"}, "-rate"},
		{[]string{"-rate", "0.01", "-requests", "100", "-timeout", "1m"}, "-timeout"},
	} {
		code, stdout, stderr := runMain(t, append(tc.args, "-out", out)...)
		refusedBeforeStart(t, code, stdout, stderr, tc.want, out)
	}
}
