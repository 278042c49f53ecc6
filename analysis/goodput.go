package analysis

import (
	"strings"
	"time"

	"github.com/llmconc/llmconc/record"
)

// SLO holds a run's service-level objectives (-slo): the largest time to
// first token, time per output token and latency a request may take to count
// as good. A zero objective is not set. testrun.ParseSLO reads them from the
// flag.
type SLO struct {
	TTFTSeconds    float64 `json:"ttft_seconds,omitempty"`
	TPOTSeconds    float64 `json:"tpot_seconds,omitempty"`
	LatencySeconds float64 `json:"latency_seconds,omitempty"`
}

// The objectives, by their names in -slo and in GoodputSummary.Missed.
const (
	ObjectiveTTFT    = "ttft"
	ObjectiveTPOT    = "tpot"
	ObjectiveLatency = "latency"
	// MissedFailed is GoodputSummary.Missed's key for failed requests.
	MissedFailed = "failed"
)

// String lists the objectives that are set: "ttft ≤ 500ms, latency ≤ 5s".
func (s SLO) String() string {
	var parts []string
	for _, o := range s.objectives() {
		parts = append(parts, o.name+" ≤ "+time.Duration(o.limit*1e9).Round(time.Microsecond).String())
	}
	return strings.Join(parts, ", ")
}

// objective is one objective that is set, with the value of a record it
// bounds (false when the record has none).
type objective struct {
	name  string
	limit float64
	value func(record.Request) (float64, bool)
}

func (s SLO) objectives() []objective {
	var out []objective
	if s.TTFTSeconds > 0 {
		out = append(out, objective{ObjectiveTTFT, s.TTFTSeconds, waitedTTFT})
	}
	if s.TPOTSeconds > 0 {
		out = append(out, objective{ObjectiveTPOT, s.TPOTSeconds, func(r record.Request) (float64, bool) {
			if r.TPOTSeconds == nil {
				return 0, false
			}
			return *r.TPOTSeconds, true
		}})
	}
	if s.LatencySeconds > 0 {
		out = append(out, objective{ObjectiveLatency, s.LatencySeconds, func(r record.Request) (float64, bool) {
			return r.LatencySeconds + retryWait(r), true
		}})
	}
	return out
}

// retryWait is, for a request sent more than once (-retry backoff), the time
// from its first send to its last: what the caller waited before the try
// that the record describes.
func retryWait(r record.Request) float64 {
	if r.TotalLatencySeconds > r.LatencySeconds {
		return r.TotalLatencySeconds - r.LatencySeconds
	}
	return 0
}

// waitedTTFT is the time from the request's first send to its first token.
func waitedTTFT(r record.Request) (float64, bool) {
	if r.TTFTSeconds == nil {
		return 0, false
	}
	return *r.TTFTSeconds + retryWait(r), true
}

// GoodputSummary is a pass's goodput under its SLO, as vLLM defines it: the
// requests that met every objective.
type GoodputSummary struct {
	// Met counts the requests that succeeded and met every objective.
	Met int `json:"met"`
	// Total counts the pass's requests, failed and never sent included.
	Total int `json:"total"`
	// RequestsPerSecond is Met over the pass's total_seconds (the span its
	// throughput uses); 0 when that is 0.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Missed counts, per objective (ttft, tpot, latency), the successful
	// requests that missed it, a request without the value (no TTFT when
	// not streamed, no TPOT with fewer than 2 output tokens) included, and
	// under "failed" the requests that failed. A request may miss several
	// objectives. Absent when every request met them.
	Missed map[string]int `json:"missed,omitempty"`
}

// MeetsSLO reports whether a request met every objective of slo: it
// succeeded, and each objective's value is measured and at most its limit.
// A request sent more than once counts from its first send (its TTFT and
// latency include the waits before its last try).
func MeetsSLO(r record.Request, slo SLO) bool {
	return len(missed(r, slo)) == 0
}

// missed lists the objectives a request missed ("failed" alone when it
// failed).
func missed(r record.Request, slo SLO) []string {
	if !r.OK {
		return []string{MissedFailed}
	}
	var out []string
	for _, o := range slo.objectives() {
		if v, ok := o.value(r); !ok || v > o.limit {
			out = append(out, o.name)
		}
	}
	return out
}

// Goodput computes a pass's goodput: its requests that met every objective,
// and their rate over the pass's span (the first send to the last response,
// PassSummary.TotalSeconds).
func Goodput(records []record.Request, slo SLO) GoodputSummary {
	seconds := 0.0
	if first, last, ok := sendSpan(records); ok {
		seconds = float64(last-first) / 1e9
	}
	return GoodputOver(records, slo, seconds)
}

// GoodputOver is Goodput with the pass's duration given: a merged rerun
// keeps the original run's.
func GoodputOver(records []record.Request, slo SLO, seconds float64) GoodputSummary {
	g := GoodputSummary{Total: len(records)}
	for _, r := range records {
		m := missed(r, slo)
		if len(m) == 0 {
			g.Met++
			continue
		}
		if g.Missed == nil {
			g.Missed = map[string]int{}
		}
		for _, name := range m {
			g.Missed[name]++
		}
	}
	if seconds > 0 {
		g.RequestsPerSecond = float64(g.Met) / seconds
	}
	return g
}
