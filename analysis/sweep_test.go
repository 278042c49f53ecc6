package analysis

import (
	"strings"
	"testing"
)

func TestKnee(t *testing.T) {
	lv := func(c int, rps, errRate float64, n429 int) SweepLevel {
		return SweepLevel{Concurrency: c, RequestsPerSecond: rps, ErrorRate: errRate, Count429: n429}
	}
	cases := []struct {
		name   string
		levels []SweepLevel
		knee   int
	}{
		{"capped at 8", []SweepLevel{lv(1, 5, 0, 0), lv(2, 10, 0, 0), lv(4, 20, 0, 0), lv(8, 39, 0, 0), lv(16, 40, 0, 0), lv(32, 40, 0, 0)}, 8},
		{"unsorted input", []SweepLevel{lv(16, 40, 0, 0), lv(4, 20, 0, 0), lv(8, 39, 0, 0)}, 8},
		{"growth of exactly 10 % continues", []SweepLevel{lv(1, 10, 0, 0), lv(2, 11, 0, 0), lv(4, 11.5, 0, 0)}, 2},
		{"errors beyond", []SweepLevel{lv(1, 5, 0, 0), lv(2, 10, 0, 0), lv(4, 20, 0.5, 6)}, 2},
		{"errors at the first level", []SweepLevel{lv(1, 5, 0.2, 1), lv(2, 9, 0.5, 3)}, 1},
		{"serial", []SweepLevel{lv(1, 5, 0, 0), lv(2, 5.1, 0, 0), lv(4, 5, 0, 0)}, 1},
		{"never reached", []SweepLevel{lv(1, 5, 0, 0), lv(2, 10, 0, 0), lv(4, 20, 0, 0)}, 0},
		{"one level", []SweepLevel{lv(4, 20, 0, 0)}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			knee, sorted := Knee(tc.levels)
			if knee != tc.knee {
				t.Errorf("knee = %d, want %d", knee, tc.knee)
			}
			for i := 1; i < len(sorted); i++ {
				if sorted[i-1].Concurrency > sorted[i].Concurrency {
					t.Errorf("levels not sorted: %v", sorted)
				}
			}
		})
	}
}

func TestSweepConclusionNamesTheKnee(t *testing.T) {
	levels := []SweepLevel{{Concurrency: 4, RequestsPerSecond: 20}, {Concurrency: 8, RequestsPerSecond: 39, P95LatencySeconds: 0.21}, {Concurrency: 16, RequestsPerSecond: 40}}
	c := SweepConclusion(8, levels)
	if c.Verdict != VerdictPartiallyConcurrent || !strings.Contains(c.Text, "sustains about 8 simultaneous requests") || !strings.Contains(c.Text, "requests queue") {
		t.Errorf("got %+v", c)
	}
	levels[2].ErrorRate, levels[2].Count429 = 0.5, 8
	if c := SweepConclusion(8, levels); !strings.Contains(c.Text, "HTTP 429") {
		t.Errorf("errors beyond the knee must be named: %+v", c)
	}
	if c := SweepConclusion(0, levels); c.Verdict != VerdictConcurrent || !strings.Contains(c.Text, "at least 16") {
		t.Errorf("a sweep that never reached its knee: %+v", c)
	}
	if c := SweepConclusion(1, levels); c.Verdict != VerdictSerialized {
		t.Errorf("knee at 1 means serialized: %+v", c)
	}
}
