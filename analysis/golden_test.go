package analysis_test

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenPass is a pass of n requests drawn from a fixed seed (outcomes: 1
// in 1/outcomes fails with each kind of failure): streamed or
// not, some failed (HTTP 500, 429 with Retry-After, timeouts, never sent),
// some with rate-limit headers, some sent by a retried batch, on warm and
// cold connections, one answered (by its clock) before it was sent.
func goldenPass(seed uint64, n int, stream bool, spacing float64, outcomes int) []record.Request {
	rng := rand.New(rand.NewPCG(seed, 7))
	var recs []record.Request
	for i := range n {
		from := float64(i)*spacing + rng.Float64()*0.05
		lat := 0.5 + rng.Float64()*2
		r := sent(from, from+lat)
		r.Index, r.Pass = i, "golden"
		r.CompletionTokens = 20 + rng.IntN(200)
		r.Connection = []string{"c1", "c2", "c3"}[rng.IntN(3)]
		warm := rng.IntN(4) != 0
		r.ConnectionWarm = &warm
		if stream {
			ttft := 0.05 + rng.Float64()*0.2
			k := 1 + rng.IntN(30)
			gaps := make([]float64, k)
			for g := range gaps {
				gaps[g] = (lat - ttft) / float64(k) * (0.5 + rng.Float64())
			}
			tpot := (lat - ttft) / float64(k)
			r.Stream, r.TTFTSeconds, r.TPOTSeconds, r.ChunkGapsSeconds = true, f64(ttft), f64(tpot), gaps
		}
		switch rng.IntN(outcomes) {
		case 0:
			r.OK, r.HTTPStatus, r.Error = false, 500, "HTTP 500"
		case 1:
			r.OK, r.HTTPStatus, r.Error = false, 429, "HTTP 429"
			r.RetryAfterSeconds = f64(float64(1 + rng.IntN(30)))
		case 2:
			r.OK, r.HTTPStatus, r.Error, r.ErrorKind = false, 0, "timeout", record.ErrorKindTimeout
		case 3:
			r = record.Request{Index: i, Pass: "golden", Error: "not sent"}
		case 4:
			r.ActivityAttempt = 2
			r.Resent = rng.IntN(2) == 0
		}
		if rng.IntN(3) == 0 {
			rem, lim := rng.IntN(100), 100
			r.RateLimit = &record.RateLimit{RemainingRequests: &rem, LimitRequests: &lim, ResetRequests: "1s"}
			if rng.IntN(2) == 0 {
				tok := rng.IntN(10000)
				r.RateLimit.RemainingTokens = &tok
			}
		}
		recs = append(recs, r)
	}
	if n > 2 {
		odd := sent(1, 0.5) // a clock that stepped back
		odd.Index, odd.Pass = n, "golden"
		recs = append(recs, odd)
	}
	return recs
}

// TestGoldenFigures: the summaries, comparisons, observed concurrencies and
// verdicts of fixed passes are those in testdata/figures.golden.json, to the
// byte.
func TestGoldenFigures(t *testing.T) {
	type scenario struct {
		Name       string
		Sequential analysis.PassSummary
		Concurrent analysis.PassSummary
		Observed   *analysis.ObservedConcurrency
		Comparison analysis.Comparison
		Conclusion analysis.Conclusion
		Sweep      []analysis.SweepLevel
		Knee       int
		SweepEnd   analysis.Conclusion
	}
	var out []scenario
	for _, tc := range []struct {
		name           string
		seed           uint64
		n, concurrency int
		stream         bool
		concSpacing    float64
		outcomes       int
	}{
		{"streamed together", 1, 12, 12, true, 0, 12},
		{"streamed together, few failures", 11, 12, 12, true, 0, 60},
		{"streamed in turn", 2, 10, 10, true, 2.6, 60},
		{"streamed, partly together", 12, 20, 20, true, 0.3, 80},
		{"not streamed", 3, 16, 8, false, 0.01, 80},
		{"not streamed, in turn", 13, 16, 8, false, 2.5, 80},
		{"not streamed, partly together", 14, 16, 16, false, 0.4, 1000},
		{"few", 4, 3, 3, true, 0.5, 12},
		{"one in flight", 5, 6, 1, false, 0, 12},
		{"many", 6, 60, 20, true, 0.02, 30},
	} {
		seq := goldenPass(tc.seed, tc.n, tc.stream, 2.6, tc.outcomes)
		conc := goldenPass(tc.seed+100, tc.n, tc.stream, tc.concSpacing, tc.outcomes)
		s, c := analysis.Summarize(seq), analysis.Summarize(conc)
		cmp := analysis.Compare(s, c)
		sc := scenario{Name: tc.name, Sequential: s, Concurrent: c, Observed: analysis.Observe(conc), Comparison: cmp,
			Conclusion: analysis.Conclude(&s, &c, &cmp, tc.n, tc.concurrency)}
		for _, level := range []int{1, 2, 4, 8} {
			sc.Sweep = append(sc.Sweep, analysis.Level(level, goldenPass(tc.seed+uint64(level), tc.n, tc.stream, 1/float64(level), tc.outcomes)))
		}
		sc.Knee, sc.Sweep = analysis.Knee(sc.Sweep)
		sc.SweepEnd = analysis.SweepConclusion(sc.Knee, sc.Sweep)
		out = append(out, sc)
	}
	got, err := json.MarshalIndent(struct {
		Scenarios []scenario
		Verdicts  []analysis.Conclusion
	}{out, goldenVerdicts()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "figures.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("figures differ from %s (go test -run TestGoldenFigures -update rewrites it)", golden)
	}
}

// goldenVerdicts are the conclusions of hand-made summaries, one or more
// per way Conclude can decide.
func goldenVerdicts() []analysis.Conclusion {
	unavailable := pass(10, 0, 10)
	unavailable.ObservedServerConcurrency = &analysis.ObservedConcurrency{Reason: "the reason"}
	notTogether := observed(1, 20)
	notTogether.MaxInFlight = 1
	lost := pass(10, 0, 10)
	lost.SentAfterWorkerLoss, lost.ResentAfterWorkerLoss = 3, 1
	kinds := pass(10, 4, 10)
	kinds.ErrorKinds = map[string]int{"timeout": 3, "rate_limited": 1}
	var out []analysis.Conclusion
	for _, c := range []struct {
		seq, conc             *analysis.PassSummary
		cmp                   *analysis.Comparison
		requests, concurrency int
	}{
		{pass(10, 0, 20), pass(10, 0, 2), cmpWith(9.5), 10, 10},
		{pass(10, 0, 20), pass(10, 0, 5), cmpWith(4), 10, 10},
		{pass(10, 0, 20), pass(10, 0, 19), cmpWith(1.05), 10, 10},
		{pass(10, 0, 142.3), pass(10, 0, 10), cmpWith(14.23), 10, 10},
		{pass(10, 0, 142.3), unavailable, cmpWith(14.23), 10, 10},
		{pass(10, 0, 20), unavailable, cmpWith(2), 10, 10},
		{pass(10, 0, 20), notTogether, cmpWith(1), 10, 10},
		{pass(10, 0, 142.3), observed(1, 10), cmpWith(14.23), 10, 10},
		{pass(10, 0, 12), observed(7, 10), cmpWith(1.2), 10, 10},
		{pass(10, 0, 12), observed(6, 10), cmpWith(1.2), 10, 10},
		{nil, observed(1, 10), nil, 10, 10},
		{nil, unavailable, nil, 10, 10},
		{pass(10, 0, 10), nil, nil, 10, 10},
		{pass(10, 0, 10), pass(10, 0, 10), cmpWith(1), 10, 1},
		{pass(10, 3, 10), pass(10, 0, 1), cmpWith(10), 10, 10},
		{pass(10, 0, 10), kinds, cmpWith(10), 10, 10},
		{pass(10, 0, 10), lost, cmpWith(10), 10, 10},
		{lost, pass(10, 0, 10), cmpWith(1), 10, 10},
	} {
		out = append(out, analysis.Conclude(c.seq, c.conc, c.cmp, c.requests, c.concurrency))
	}
	return out
}
