package htmlreport_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
)

// A run sent at a rate shows its target and achieved rates; a burst does
// not.
func TestRateLine(t *testing.T) {
	d := build([]record.Request{rec(record.PassSequential, 0, 0, 1)}, []record.Request{rec(record.PassConcurrent, 0, 2, 3)})
	var plain bytes.Buffer
	if err := htmlreport.Render(&plain, d, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "open loop") {
		t.Error("a burst shows an arrival rate")
	}
	target, achieved := 20.0, 19.5
	d.Concurrent.TargetRate, d.Concurrent.AchievedRate = &target, &achieved
	d.Config.Rate, d.Config.Burstiness, d.Config.Seed = 20, 1, 6
	var b bytes.Buffer
	if err := htmlreport.Render(&b, d, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Arrival rate (open loop)", "20 requests/s", "achieved 19.50/s; burstiness 1, seed 6"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("the HTML lacks %q", s)
		}
	}
}
