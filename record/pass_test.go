package record_test

import (
	"encoding/json"
	"testing"

	"github.com/llmconc/llmconc/record"
)

func TestSweepPassRoundTrips(t *testing.T) {
	p := record.SweepPass(8)
	if p != "sweep-c8" {
		t.Fatalf("SweepPass(8) = %q, want sweep-c8", p)
	}
	if level, ok := p.SweepLevel(); !ok || level != 8 {
		t.Errorf("SweepLevel of %q = %d, %v", p, level, ok)
	}
	for _, p := range []record.Pass{record.PassSequential, record.PassConcurrent, record.PassWarmup, "sweep-c", "sweep-cx", "sweep-c0"} {
		if _, ok := p.SweepLevel(); ok {
			t.Errorf("%q is not a sweep level's pass", p)
		}
	}
}

// A typed pass writes the same JSON as the plain string it replaced.
func TestPassJSONIsAString(t *testing.T) {
	b, err := json.Marshal(record.Request{Pass: record.PassConcurrent})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["pass"] != "concurrent" {
		t.Errorf(`"pass" = %#v, want "concurrent"`, m["pass"])
	}
}
