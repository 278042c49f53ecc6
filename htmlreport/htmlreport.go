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
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

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

// WriteFile writes the page of d to path through a temporary file in the same
// folder, like report.WriteJSON, so that a reader never sees half a page.
func WriteFile(path string, d report.Document, opts Options) error {
	b, err := render(d, opts)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write the HTML report next to %s: %w", path, pathErr(err))
	}
	defer os.Remove(tmp.Name())
	// Owner only: the file holds the prompts and the responses. (A file
	// created 0600 is the same under any umask.)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write the HTML report to %s: %w", path, pathErr(err))
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write the HTML report to %s: %w", path, pathErr(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the HTML report to %s: %w", path, pathErr(err))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the HTML report to %s: %w", path, pathErr(err))
	}
	return nil
}

// pathErr is err without the path of a *fs.PathError or *os.LinkError (a
// temporary file's, in the errors above), which name only the user's path.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
