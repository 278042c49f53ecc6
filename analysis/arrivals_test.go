package analysis_test

import (
	"math"
	"testing"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

func sentAt(offsets ...time.Duration) []record.Request {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]record.Request, len(offsets))
	for i, o := range offsets {
		recs[i] = record.Request{Index: i, SentAt: t0.Add(o)}
	}
	return recs
}

func TestArrivalsOf(t *testing.T) {
	s := time.Second
	// A fixed period of 0.5 s: 2 per second, no variation.
	if a := analysis.ArrivalsOf(sentAt(0, s/2, s, 3*s/2)); a.Sent != 4 || math.Abs(a.AchievedRate-2) > 1e-9 || a.GapCV > 1e-9 {
		t.Errorf("fixed period: %+v", a)
	}
	// Gaps 0.1 s and 0.9 s: mean 0.5, sd 0.4, in any record order.
	if a := analysis.ArrivalsOf(sentAt(s, 0, s/10)); math.Abs(a.AchievedRate-2) > 1e-9 || math.Abs(a.GapCV-0.8) > 1e-9 {
		t.Errorf("uneven gaps: %+v", a)
	}
	// A request never sent does not count; a retried one counts at its
	// first try.
	recs := sentAt(0, s, 2*s)
	recs = append(recs, record.Request{Index: 3})
	recs[2].SentAt = recs[2].SentAt.Add(10 * s)
	recs[2].Attempts = []record.Attempt{{Attempt: 1, SentAt: recs[1].SentAt.Add(s)}}
	if a := analysis.ArrivalsOf(recs); a.Sent != 3 || math.Abs(a.AchievedRate-1) > 1e-9 {
		t.Errorf("retried and unsent: %+v", a)
	}
	if a := analysis.ArrivalsOf(sentAt(0)); a.AchievedRate != 0 || a.Sent != 1 {
		t.Errorf("one request: %+v", a)
	}
}
