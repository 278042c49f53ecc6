package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// troubled is result(n) with a failure of each pass, a streamed request,
// rate-limit headers, a warm-up and an endpoint text with control
// characters.
func troubled(n int) testrun.Result {
	r := result(n)
	seq, conc := r.Sequential.Records, r.Concurrent.Records
	seq[1].OK, seq[1].HTTPStatus, seq[1].Error = false, 500, "HTTP 500: \x1b[31mboom\x1b[0m\r\nagain"
	conc[2].OK, conc[2].HTTPStatus, conc[2].Error = false, 429, "Rate limit reached"
	ra := 7.0
	conc[2].RetryAfterSeconds = &ra
	rem, lim := 3, 100
	conc[0].RateLimit = &record.RateLimit{RemainingRequests: &rem, LimitRequests: &lim, ResetRequests: "1s\x1b[2J"}
	ttft, tpot := 0.4, 0.05
	conc[1].Stream, conc[1].TTFTSeconds, conc[1].TPOTSeconds, conc[1].ChunkGapsSeconds = true, &ttft, &tpot, []float64{0.5, 0.5, 0.6}
	warm := rec("warmup", 0, -10, -8)
	failedWarm := rec("warmup", 1, -8, -7)
	failedWarm.OK, failedWarm.Error = false, "timeout"
	r.Warmup = &testrun.PassResult{Pass: "warmup", Records: []record.Request{warm, failedWarm}}
	r.Config.Warmup, r.Config.Retry, r.Config.Stream = 2, "backoff", true
	return r
}

// sweepResult is a sweep of levels 1, 2 and 4 whose throughput stops
// growing at 2.
func sweepResult() testrun.Result {
	r := result(4)
	r.Config.Passes, r.Config.Sweep = testrun.PassesSweep, []int{1, 2, 4}
	r.Sequential, r.Concurrent = nil, nil
	for k, level := range r.Config.Sweep {
		var recs []record.Request
		for i := range 4 {
			from := float64(100*k) + float64(i/min(level, 2))*2
			recs = append(recs, rec(record.SweepPass(level), i, from, from+2))
		}
		r.Sweep = append(r.Sweep, &testrun.PassResult{Pass: record.SweepPass(level), Concurrency: level, Shards: 1, Records: recs})
	}
	return r
}

// repeatedDocs are runs of a repeated comparison, alternating the order of
// the passes, with the given verdicts and evidence, and speedups that
// drift by order.
func repeatedDocs(verdicts, evidence []string) []report.Document {
	var docs []report.Document
	for i, v := range verdicts {
		res := result(3)
		if i%2 == 1 {
			res.Config.Order = testrun.OrderConcurrentFirst
			for k := range res.Concurrent.Records {
				res.Concurrent.Records[k].ReceivedAt = res.Concurrent.Records[k].ReceivedAt.Add(time.Duration(i) * 300 * time.Millisecond)
			}
		}
		d := report.Build("rep-"+string(rune('a'+i)), "run", res)
		d.Conclusion.Verdict, d.Conclusion.Evidence = v, evidence[i]
		docs = append(docs, d)
	}
	return docs
}

// TestGoldenDocuments: the JSON and the terminal text of fixed runs are
// those in testdata/golden, to the byte (go test -run TestGoldenDocuments
// -update rewrites them after a deliberate change).
func TestGoldenDocuments(t *testing.T) {
	obs, speed := analysis.EvidenceObserved, analysis.EvidenceSpeedup
	docs := map[string]report.Document{
		"plain":    report.Build("wf", "run", result(3)),
		"troubled": report.Build("wf", "run", troubled(5)),
		"sweep":    report.Build("wf", "run", sweepResult()),
	}
	rerunOf := report.Build("original", "run-1", troubled(5))
	again := troubled(5)
	again.Sequential.Records = again.Sequential.Records[1:2]
	again.Sequential.Records[0].OK, again.Sequential.Records[0].HTTPStatus, again.Sequential.Records[0].Error = true, 200, ""
	again.Concurrent.Records = again.Concurrent.Records[2:3]
	docs["rerun"] = report.Merge(rerunOf, report.Build("rerun", "run-2", again))
	for name, runs := range map[string][]report.Document{
		"repeat_agree":    repeatedDocs([]string{"concurrent", "concurrent", "concurrent", "concurrent"}, []string{speed, speed, obs, speed}),
		"repeat_observed": repeatedDocs([]string{"concurrent", "serialized", "concurrent"}, []string{obs, speed, obs}),
		"repeat_disagree": repeatedDocs([]string{"concurrent", "serialized"}, []string{speed, obs}),
		"repeat_one":      repeatedDocs([]string{"concurrent"}, []string{speed}),
	} {
		last := runs[len(runs)-1]
		report.AddRepeat(&last, runs)
		docs[name] = last
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			var js, txt bytes.Buffer
			if err := report.EncodeJSON(&js, d); err != nil {
				t.Fatal(err)
			}
			writeText(&txt, d)
			golden(t, name+".json", js.Bytes())
			golden(t, name+".txt", txt.Bytes())
		})
	}
}

// writeText writes every block of the terminal report of d.
func writeText(w *bytes.Buffer, d report.Document) {
	tx := report.Text{W: w}
	tx.ConfigBlock(d.Config, "Endpoint:          "+d.Config.Endpoint)
	tx.Warmup(d.Warmup)
	for _, p := range d.Passes() {
		name := p.Requests[0].Pass
		tx.PassHeader(string(name), d.Config.Requests, d.Config.Concurrency)
		for _, r := range p.Requests {
			tx.Request(testrun.ProgressEvent{Pass: name, Index: r.Index, OK: r.OK, Attempt: r.Attempt, LatencySeconds: r.LatencySeconds, Error: r.Error}, len(p.Requests))
		}
		tx.Bar(len(p.Requests), len(p.Requests), p.Failed, false, report.BarTiming{Elapsed: 75 * time.Second})
		tx.PassSummary(string(name), p.PassSummary)
	}
	if d.Sweep != nil {
		tx.SweepTable(d.Sweep.Levels, d.Sweep.Knee)
	}
	if d.Repeat != nil {
		tx.RepeatTable(d.Repeat)
	}
	if d.Comparison != nil {
		tx.Comparison(*d.Comparison)
	}
	tx.Conclusion(d.Conclusion)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s", path)
	}
}
