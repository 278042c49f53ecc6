package analysis

import (
	"fmt"
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

// RateConclusion is the conclusion of a run whose concurrent pass was sent
// as arrivals at target requests per second (-rate): no verdict on
// concurrency (an open-loop pass keeps in flight what its rate and the
// latency make, not as many requests as it can), but what the endpoint
// did under that load.
func RateConclusion(target float64, a Arrivals, conc PassSummary) Conclusion {
	achieved := "n/a"
	if a.AchievedRate > 0 {
		achieved = fmt.Sprintf("%.2f per second", a.AchievedRate)
	}
	latency := "no request succeeded"
	if conc.Latency != nil {
		latency = fmt.Sprintf("latency p50 %.2fs, p95 %.2fs", conc.Latency.P50, conc.Latency.P95)
	}
	return Conclusion{Verdict: VerdictInconclusive, Evidence: EvidenceNone, Text: fmt.Sprintf(
		"The concurrent pass was sent as arrivals at %g per second (open loop, achieved %s), not as one burst: it shows how the endpoint serves that load, not whether it serves requests concurrently. %d of %d requests succeeded, %s, at most %d in flight. Run without -rate for a verdict.",
		target, achieved, conc.Successful, conc.Successful+conc.Failed, latency, conc.MaxInFlight)}
}
