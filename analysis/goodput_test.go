package analysis_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// retried is a streamed record whose last try was sent at from after a
// first try sent waited seconds earlier.
func retried(from, to, ttft, waited float64) record.Request {
	r := streamed(from, to, ttft, 0.01)
	r.Attempt, r.TotalLatencySeconds = 2, to-from+waited
	return r
}

// TestMeetsSLO: a request meets the objectives when it succeeded and each
// objective that is set has a measured value at most its limit; a missing
// value, a failure, or a value over the limit misses.
func TestMeetsSLO(t *testing.T) {
	all := analysis.SLO{TTFTSeconds: 0.5, TPOTSeconds: 0.05, LatencySeconds: 5}
	noTPOT := streamed(0, 1, 0.2, 0)
	noTPOT.TPOTSeconds = nil
	notStreamed := sent(0, 1)
	failedFast := failedAt(0, 0.1, 500)
	failedFast.Stream, failedFast.TTFTSeconds = true, f64(0.05)
	for _, tc := range []struct {
		name   string
		r      record.Request
		slo    analysis.SLO
		meets  bool
		missed []string
	}{
		{"within every objective", streamed(0, 1, 0.2, 0.02), all, true, nil},
		{"at the limits", streamed(0, 5, 0.5, 0.05), all, true, nil},
		{"ttft over", streamed(0, 1, 0.6, 0.02), all, false, []string{"ttft"}},
		{"tpot over", streamed(0, 1, 0.2, 0.051), all, false, []string{"tpot"}},
		{"latency over", streamed(0, 5.5, 0.2, 0.02), all, false, []string{"latency"}},
		{"all over", streamed(0, 9, 0.9, 0.09), all, false, []string{"ttft", "tpot", "latency"}},
		{"no ttft: not streamed", notStreamed, analysis.SLO{TTFTSeconds: 10}, false, []string{"ttft"}},
		{"no tpot: one output token", noTPOT, analysis.SLO{TPOTSeconds: 10}, false, []string{"tpot"}},
		{"not streamed, latency only", notStreamed, analysis.SLO{LatencySeconds: 2}, true, nil},
		{"failed, whatever its figures", failedFast, all, false, []string{"failed"}},
		{"never sent", notSent(), analysis.SLO{LatencySeconds: 2}, false, []string{"failed"}},
		{"unset objectives bound nothing", streamed(0, 100, 50, 1), analysis.SLO{}, true, nil},
		{"retried: latency from the first send", retried(10, 11, 0.2, 4.5), analysis.SLO{LatencySeconds: 5}, false, []string{"latency"}},
		{"retried: ttft from the first send", retried(10, 11, 0.2, 0.4), analysis.SLO{TTFTSeconds: 0.5}, false, []string{"ttft"}},
		{"retried within", retried(10, 11, 0.2, 0.2), analysis.SLO{TTFTSeconds: 0.5, LatencySeconds: 5}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := analysis.MeetsSLO(tc.r, tc.slo); got != tc.meets {
				t.Errorf("MeetsSLO = %v, want %v", got, tc.meets)
			}
			g := analysis.GoodputOver([]record.Request{tc.r}, tc.slo, 1)
			want := map[string]int{}
			for _, m := range tc.missed {
				want[m] = 1
			}
			if len(g.Missed) != len(want) {
				t.Errorf("missed %v, want %v", g.Missed, want)
			}
			for k, v := range want {
				if g.Missed[k] != v {
					t.Errorf("missed %v, want %v", g.Missed, want)
				}
			}
		})
	}
}

// TestGoodput: met counts the requests that met every objective, total every
// request of the pass (failed and never sent included), and the rate is met
// over the pass's span, the same as its throughput's.
func TestGoodput(t *testing.T) {
	slo := analysis.SLO{TTFTSeconds: 0.5, LatencySeconds: 3}
	recs := []record.Request{
		streamed(0, 2, 0.3, 0.02),   // met
		streamed(0, 2.5, 0.4, 0.02), // met
		streamed(0, 4, 0.3, 0.02),   // latency over
		streamed(1, 3, 0.7, 0.02),   // ttft over
		sent(1, 2),                  // not streamed: no ttft
		failedAt(1, 1.5, 429),       // failed
		notSent(),                   // failed, never sent
	}
	for name, in := range map[string][]record.Request{"in order": recs, "reversed": reversed(recs)} {
		t.Run(name, func(t *testing.T) {
			g := analysis.Goodput(in, slo)
			if g.Met != 2 || g.Total != 7 {
				t.Errorf("met %d of %d, want 2 of 7", g.Met, g.Total)
			}
			span := analysis.Summarize(in).TotalSeconds
			if span != 4 {
				t.Fatalf("total_seconds %v, want 4", span)
			}
			if math.Abs(g.RequestsPerSecond-2/span) > eps {
				t.Errorf("requests_per_second %v, want %v", g.RequestsPerSecond, 2/span)
			}
			want := map[string]int{"latency": 1, "ttft": 2, "failed": 2}
			if len(g.Missed) != len(want) {
				t.Errorf("missed %v, want %v", g.Missed, want)
			}
			for k, v := range want {
				if g.Missed[k] != v {
					t.Errorf("missed %v, want %v", g.Missed, want)
				}
			}
		})
	}
}

// TestGoodputEdges: no request, nothing sent, and everything met.
func TestGoodputEdges(t *testing.T) {
	slo := analysis.SLO{LatencySeconds: 1}
	if g := analysis.Goodput(nil, slo); g.Met != 0 || g.Total != 0 || g.RequestsPerSecond != 0 || g.Missed != nil {
		t.Errorf("no records: %+v", g)
	}
	if g := analysis.Goodput([]record.Request{notSent(), notSent()}, slo); g.Met != 0 || g.Total != 2 || g.RequestsPerSecond != 0 || g.Missed["failed"] != 2 {
		t.Errorf("nothing sent: %+v", g)
	}
	g := analysis.Goodput([]record.Request{sent(0, 0.5), sent(0, 1)}, slo)
	if g.Met != 2 || g.Total != 2 || g.RequestsPerSecond != 2 || g.Missed != nil {
		t.Errorf("all met: %+v", g)
	}
	if g := analysis.GoodputOver([]record.Request{sent(0, 0.5)}, slo, 0); g.RequestsPerSecond != 0 {
		t.Errorf("a pass of no duration: %v requests/s, want 0", g.RequestsPerSecond)
	}
}

// TestGoodputJSON: the field names of goodput and of the SLO; missed is
// absent when everything met.
func TestGoodputJSON(t *testing.T) {
	g := analysis.GoodputSummary{Met: 3, Total: 4, RequestsPerSecond: 1.5, Missed: map[string]int{"ttft": 1}}
	b, _ := json.Marshal(g)
	if string(b) != `{"met":3,"total":4,"requests_per_second":1.5,"missed":{"ttft":1}}` {
		t.Errorf("goodput JSON %s", b)
	}
	b, _ = json.Marshal(analysis.GoodputSummary{Met: 1, Total: 1})
	if string(b) != `{"met":1,"total":1,"requests_per_second":0}` {
		t.Errorf("goodput JSON %s", b)
	}
	b, _ = json.Marshal(analysis.SLO{TTFTSeconds: 0.5, LatencySeconds: 5})
	if string(b) != `{"ttft_seconds":0.5,"latency_seconds":5}` {
		t.Errorf("SLO JSON %s", b)
	}
}

func TestSLOString(t *testing.T) {
	for _, tc := range []struct {
		slo  analysis.SLO
		want string
	}{
		{analysis.SLO{TTFTSeconds: 0.5, TPOTSeconds: 0.05, LatencySeconds: 5}, "ttft ≤ 500ms, tpot ≤ 50ms, latency ≤ 5s"},
		{analysis.SLO{LatencySeconds: 90}, "latency ≤ 1m30s"},
		{analysis.SLO{TPOTSeconds: 0.0125}, "tpot ≤ 12.5ms"},
		{analysis.SLO{}, ""},
	} {
		if got := tc.slo.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.slo, got, tc.want)
		}
	}
}
