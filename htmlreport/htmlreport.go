// Package htmlreport renders a run's result document (report.Document) as one
// self-contained HTML page: inline CSS and inline SVG charts drawn here in Go,
// no script, no external resource, so the file opens offline in any browser
// and renders the same every time for the same document.
//
// The page shows the verdict and the key figures, a timeline (waterfall) of
// each pass on a common time scale, the generation intervals of each
// streamed pass (the observed server concurrency), the repeats of -repeat,
// a latency histogram of each pass, the
// failed requests, and, when given, the throughput and latency of a
// concurrency sweep.
//
// Every chart element carries stable class names and data attributes, which
// tests (and anyone scripting against the page) can count:
//
//	<svg class="chart waterfall" data-pass="sequential|concurrent" data-scale="shared|own" data-seconds-per-px="…">
//	<rect class="req" data-pass="…" data-index="3" data-ok="true">       one per request that was sent
//	<rect class="req failed" …>                                          a failed one
//	<line class="ttft" data-pass="…" data-index="3">                     time to first token (streamed requests)
//	<svg class="chart histogram" data-pass="…" data-count="N">           successful requests' latencies
//	<rect class="bin" data-pass="…" data-count="k" data-lo="…" data-hi="…">
//	<svg class="chart sweep" data-metric="throughput|latency">          only with Options.Sweep
//	<circle class="point" data-metric="…" data-series="…" data-concurrency="C">
//	<svg class="chart intervals" data-pass="…" data-max="M" data-available="…">  streamed passes (see intervals.go)
//	<rect class="gen" data-pass="…" data-index="3">                         one generation interval
//	<tr class="repeat-run">                                                 one run of -repeat
package htmlreport

import (
	"bytes"
	"fmt"
	"io"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/report"
)

// Options holds what the page may show besides the document.
type Options struct {
	// Sweep holds the levels of a concurrency sweep, in any order. The page
	// has a sweep section only when it is not empty.
	Sweep []SweepLevel
}

// SweepLevel is one level of a concurrency sweep, as package analysis
// computes it.
type SweepLevel = analysis.SweepLevel

// Render writes the page of d to w. Nothing is written when the page cannot
// be made.
func Render(w io.Writer, d report.Document, opts Options) error {
	b, err := render(d, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write the HTML report: %w", err)
	}
	return nil
}

func render(d report.Document, opts Options) ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, buildPage(d, opts)); err != nil {
		return nil, fmt.Errorf("render the HTML report: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes the page of d to path through report.WriteFileAtomic, like
// report.WriteJSON, so that a reader never sees half a page.
func WriteFile(path string, d report.Document, opts Options) error {
	b, err := render(d, opts)
	if err != nil {
		return err
	}
	return report.WriteFileAtomic(path, "the HTML report", b)
}
