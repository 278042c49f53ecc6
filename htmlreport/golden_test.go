package htmlreport_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
)

var update = flag.Bool("update", false, "rewrite the golden pages in testdata/golden")

// partlyTogether is a streamed run whose concurrent pass generates two at a
// time, with a failure and a request never sent.
func partlyTogether() report.Document {
	var seq, conc []record.Request
	for i := range 6 {
		seq = append(seq, streamedRec(record.PassSequential, i, float64(i)*1.3, float64(i)*1.3+0.2, 1))
		conc = append(conc, streamedRec(record.PassConcurrent, i, 20, 20.15+float64(i/2)*1.05, 1))
	}
	conc[4] = failed(conc[4], 503, "busy")
	conc = append(conc, notSent(record.PassConcurrent, 6))
	return build(seq, conc)
}

// repeated is the last of three repeated runs, the second of which sent
// its concurrent pass first.
func repeated() report.Document {
	docs := []report.Document{serialStreams(3), partlyTogether(), serialStreams(4)}
	for i := range docs {
		docs[i].WorkflowID = "r" + strconv.Itoa(i+1)
		if i == 1 {
			docs[i].Config.Order = "concurrent_first"
		}
	}
	last := docs[2]
	report.AddRepeat(&last, docs)
	return last
}

// rerun is a run with failures merged with the rerun that resent them.
func rerun() report.Document {
	seq := []record.Request{rec("sequential", 0, 0, 2), failed(rec("sequential", 1, 2, 2.1), 500, "boom"), rec("sequential", 2, 2.1, 4)}
	conc := []record.Request{rec("concurrent", 0, 10, 12), rec("concurrent", 1, 10, 12.5), failed(rec("concurrent", 2, 10, 10.2), 503, "busy")}
	base := build(seq, conc)
	base.WorkflowID = "original-run"
	again := build([]record.Request{rec("sequential", 1, 3600, 3601)}, []record.Request{rec("concurrent", 2, 3602, 3603)})
	again.WorkflowID = "the-rerun"
	return report.Merge(base, again)
}

// manyLevels is a sweep of 14 levels, 20 to 33: too many to label each, on
// a linear scale.
func manyLevels() []htmlreport.SweepLevel {
	var out []htmlreport.SweepLevel
	for c := 20; c < 34; c++ {
		l := htmlreport.SweepLevel{Concurrency: c, RequestsPerSecond: float64(c) / 3, OutputTokensPerSecond: float64(40 * c),
			P50LatencySeconds: 2 + float64(c-20)/10, P95LatencySeconds: 3 + float64(c-20)/5}
		if c > 30 {
			l.ErrorRate, l.Count429 = 0.1, c-30
		}
		out = append(out, l)
	}
	return out
}

// TestGoldenPages: the pages of fixed documents are those in
// testdata/golden, to the byte (go test -run TestGoldenPages -update
// rewrites them after a deliberate change).
func TestGoldenPages(t *testing.T) {
	for name, tc := range map[string]struct {
		doc  func(*testing.T) report.Document
		opts htmlreport.Options
	}{
		"simulator_run": {func(t *testing.T) report.Document { return loadDocument(t, "testdata/simulator_run.json") }, htmlreport.Options{}},
		"verdict_run":   {func(t *testing.T) report.Document { return loadDocument(t, "testdata/verdict_run.json") }, htmlreport.Options{}},
		"mixed":         {func(*testing.T) report.Document { return mixed() }, htmlreport.Options{}},
		"sweep":         {func(*testing.T) report.Document { return staircase(12) }, htmlreport.Options{Sweep: sweep()}},
		"sweep_many":    {func(*testing.T) report.Document { return staircase(3) }, htmlreport.Options{Sweep: manyLevels()}},
		"streams":       {func(*testing.T) report.Document { return partlyTogether() }, htmlreport.Options{}},
		"repeat":        {func(*testing.T) report.Document { return repeated() }, htmlreport.Options{}},
		"rerun":         {func(*testing.T) report.Document { return rerun() }, htmlreport.Options{}},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := htmlreport.Render(&b, tc.doc(t), tc.opts); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".html")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("the page differs from %s", golden)
			}
		})
	}
}
