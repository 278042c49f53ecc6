package analysis

import (
	"math"
	"slices"
	"time"

	"github.com/llmconc/llmconc/record"
)

// Arrivals is how the requests of a pass sent at a rate (-rate) left, from
// their records' send times: the first try of each request that was sent.
type Arrivals struct {
	// Sent is the number of requests that were sent.
	Sent int `json:"sent"`
	// AchievedRate is the requests per second between the first send and
	// the last: (Sent - 1) / (last - first); 0 with fewer than two sends.
	AchievedRate float64 `json:"achieved_rate"`
	// GapCV is the coefficient of variation of the gaps between
	// consecutive sends (standard deviation over mean): about 1 for
	// Poisson arrivals, 1/√burstiness for gamma gaps, 0 for a fixed
	// period; 0 with fewer than three sends.
	GapCV float64 `json:"gap_cv"`
}

// ArrivalsOf measures the send times of recs.
func ArrivalsOf(recs []record.Request) Arrivals {
	var sent []time.Time
	for _, r := range recs {
		if t := firstSent(r); !t.IsZero() {
			sent = append(sent, t)
		}
	}
	a := Arrivals{Sent: len(sent)}
	if len(sent) < 2 {
		return a
	}
	slices.SortFunc(sent, func(x, y time.Time) int { return x.Compare(y) })
	span := sent[len(sent)-1].Sub(sent[0]).Seconds()
	if span <= 0 {
		return a
	}
	a.AchievedRate = float64(len(sent)-1) / span
	if len(sent) < 3 {
		return a
	}
	mean := span / float64(len(sent)-1)
	var sq float64
	for i := 1; i < len(sent); i++ {
		d := sent[i].Sub(sent[i-1]).Seconds() - mean
		sq += d * d
	}
	a.GapCV = math.Sqrt(sq/float64(len(sent)-1)) / mean
	return a
}

// firstSent is when a request was first sent: its earliest try (zero when
// it never was).
func firstSent(r record.Request) time.Time {
	t := r.SentAt
	for _, at := range r.Attempts {
		if !at.SentAt.IsZero() && (t.IsZero() || at.SentAt.Before(t)) {
			t = at.SentAt
		}
	}
	return t
}
