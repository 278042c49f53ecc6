// Package report presents what a run measured: it builds the result document
// (the JSON users and scripts read, schema_version 1) and writes the terminal
// text. It does not measure anything; the figures come from package analysis.
package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// SchemaVersion is the version of the result document.
const SchemaVersion = 1

// Document is the result JSON. Its field names are a contract; see
// docs/result-json.md.
type Document struct {
	SchemaVersion int                  `json:"schema_version"`
	WorkflowID    string               `json:"workflow_id"`
	RunID         string               `json:"run_id"`
	StartedAt     string               `json:"started_at"`
	FinishedAt    string               `json:"finished_at"`
	Config        Config               `json:"config"`
	Sequential    *Pass                `json:"sequential"`
	Concurrent    *Pass                `json:"concurrent"`
	Comparison    *analysis.Comparison `json:"comparison"`
	// Sweep is set for a sweep run (-sweep), whose passes are its levels.
	Sweep *Sweep `json:"sweep,omitempty"`
	// Probe is set for a probe of the key's limits (`starter probe`),
	// whose levels are the sweep's passes.
	Probe *Probe `json:"probe,omitempty"`
	// Repeat is set when the comparison was repeated (-repeat R); the rest
	// of the document is the last run's.
	Repeat     *Repeat             `json:"repeat,omitempty"`
	Conclusion analysis.Conclusion `json:"conclusion"`
	// Rerun is set on the merged result of a rerun of failed requests.
	Rerun *Rerun `json:"rerun,omitempty"`
	// Error is set when the run ended early; what it measured is still here.
	Error string `json:"error,omitempty"`
	// Warmup holds the warm-up requests (-warmup), sent before the first
	// pass and kept apart: no figure of the passes, the comparison or the
	// verdict includes them.
	Warmup *Pass `json:"warmup,omitempty"`
	// Cost is what the run was estimated to cost at most, and what it
	// cost by the usage the endpoint returned (see CostOf).
	Cost *Cost `json:"cost,omitempty"`
}

// Sweep is a sweep's result: each level's figures, the knee, and each
// level's pass with its requests.
type Sweep struct {
	Levels []analysis.SweepLevel `json:"levels"`
	// Knee is the level after which throughput grows by less than 10 % or
	// errors appear; 0 when the sweep did not reach it.
	Knee   int     `json:"knee"`
	Passes []*Pass `json:"passes"`
}

// Config is the run's configuration as the document shows it.
type Config struct {
	Requests              int     `json:"requests"`
	Model                 string  `json:"model"`
	MaxTokens             int     `json:"max_tokens"`
	Concurrency           int     `json:"concurrency"`
	Passes                string  `json:"passes"`
	PromptsSource         string  `json:"prompts_source"`
	RequestTimeoutSeconds float64 `json:"request_timeout_seconds"`
	TimeoutSeconds        float64 `json:"timeout_seconds"`
	MaxShards             int     `json:"max_shards"`
	Stream                bool    `json:"stream"`
	Retry                 string  `json:"retry"`
	Sweep                 []int   `json:"sweep,omitempty"`
	// Endpoint is the base URL the worker sent the requests to; never a key.
	Endpoint      string `json:"endpoint"`
	EndpointLabel string `json:"endpoint_label,omitempty"`
	// EndpointName is the name the run chose the endpoint by, among those
	// the worker allow-lists ("default" unless -endpoint said otherwise).
	EndpointName string `json:"endpoint_name"`
	// Warmup is the number of warm-up requests sent before the first pass.
	Warmup int `json:"warmup"`
	// Order is the order of the passes: sequential_first or
	// concurrent_first (-repeat alternates them).
	Order string `json:"order"`
	// StreamOff says why a run that was to stream by default did not: the
	// endpoint does not stream.
	StreamOff string `json:"stream_off,omitempty"`
	// Rate (requests per second), Burstiness and Seed are set when the
	// concurrent pass was sent as arrivals at a rate (-rate).
	Rate       float64 `json:"rate,omitempty"`
	Burstiness float64 `json:"burstiness,omitempty"`
	Seed       int64   `json:"seed,omitempty"`
	// SLO holds the objectives of -slo, by which each pass's goodput is
	// counted; absent without -slo.
	SLO *analysis.SLO `json:"slo,omitempty"`
	// Probe is a probe's settings, for the terminal (the JSON has them in
	// its probe section).
	Probe *testrun.Probe `json:"-"`
}

// Pass is one pass: its summary figures, inlined, and every request. The
// figures are analysis.PassSummary's: counts and timings, the latency, ttft,
// tpot and itl statistics (stats.Summary objects, null without data), the
// aggregate output_tokens_per_second, status_counts, the tightest rate_limit
// and retry_after_max_seconds. They are additions to schema_version 1: no
// earlier field changed name or meaning.
type Pass struct {
	analysis.PassSummary
	// Goodput counts the requests that met every objective of -slo (see
	// docs/goodput.md); absent without -slo.
	Goodput *analysis.GoodputSummary `json:"goodput,omitempty"`
	// FireAt is the concurrent pass's common send instant.
	FireAt string `json:"fire_at,omitempty"`
	Shards int    `json:"shards"`
	// TargetRate, AchievedRate and ArrivalGapCV are set on a pass sent as
	// arrivals at a rate (-rate; see rate.go).
	TargetRate   *float64         `json:"target_rate,omitempty"`
	AchievedRate *float64         `json:"achieved_rate,omitempty"`
	ArrivalGapCV *float64         `json:"arrival_gap_cv,omitempty"`
	Requests     []record.Request `json:"requests"`
}

// ConfigOf returns the document's view of a run's input and endpoint.
func ConfigOf(in testrun.Input, ep record.Endpoint) Config {
	return Config{
		Requests:              in.Requests,
		Model:                 in.Model,
		MaxTokens:             in.MaxTokens,
		Concurrency:           in.Concurrency,
		Passes:                in.Passes,
		PromptsSource:         in.PromptsSource,
		RequestTimeoutSeconds: in.RequestTimeout.Seconds(),
		TimeoutSeconds:        in.Timeout.Seconds(),
		MaxShards:             in.MaxShards,
		Stream:                in.Stream,
		Retry:                 in.Retry,
		Sweep:                 in.Sweep,
		Endpoint:              ep.BaseURL,
		EndpointLabel:         ep.Label,
		EndpointName:          cmp.Or(ep.Name, in.Endpoint, record.DefaultEndpoint),
		Warmup:                in.Warmup,
		Order:                 cmp.Or(in.Order, testrun.OrderSequentialFirst),
		Probe:                 in.Probe,
		Rate:                  in.Rate,
		Burstiness:            in.Burstiness,
		Seed:                  in.Seed,
		SLO:                   in.SLO,
	}
}

// Build makes the document of a run's result.
func Build(workflowID, runID string, r testrun.Result) Document {
	d := Document{
		SchemaVersion: SchemaVersion,
		WorkflowID:    workflowID,
		RunID:         runID,
		StartedAt:     timestamp(r.StartedAt),
		FinishedAt:    timestamp(r.FinishedAt),
		Config:        ConfigOf(r.Config, r.Endpoint),
		Sequential:    passOf(r.Sequential),
		Concurrent:    passOf(r.Concurrent),
		Error:         r.Aborted,
		Warmup:        passOf(r.Warmup),
	}
	d.Config.StreamOff = r.StreamOff
	var seq, conc *analysis.PassSummary
	if d.Sequential != nil {
		seq = &d.Sequential.PassSummary
	}
	if d.Concurrent != nil {
		conc = &d.Concurrent.PassSummary
	}
	if seq != nil && conc != nil {
		c := analysis.Compare(*seq, *conc)
		d.Comparison = &c
	}
	d.Conclusion = analysis.Conclude(seq, conc, d.Comparison, r.Config.Requests, r.Config.Concurrency)
	if conc != nil && r.Concurrent.TargetRate == 0 {
		if w := analysis.BurstWarning(*conc); w != "" {
			d.Conclusion.Text += " " + w
		}
	}
	if len(r.Sweep) > 0 {
		d.Sweep = &Sweep{}
		for _, p := range r.Sweep {
			d.Sweep.Passes = append(d.Sweep.Passes, passOf(p))
			d.Sweep.Levels = append(d.Sweep.Levels, analysis.Level(p.Concurrency, p.Records))
		}
		d.Sweep.Knee, d.Sweep.Levels = analysis.Knee(d.Sweep.Levels)
		d.Conclusion = analysis.SweepConclusion(d.Sweep.Knee, d.Sweep.Levels)
	}
	if d.Probe = probeOf(r); d.Probe != nil {
		d.Conclusion.Text = d.Probe.Recommendation
	}
	d.Cost = CostOf(r.Config, d)
	if d.Concurrent != nil && d.Concurrent.TargetRate != nil {
		d.Conclusion = analysis.RateConclusion(*d.Concurrent.TargetRate, analysis.ArrivalsOf(d.Concurrent.Requests), d.Concurrent.PassSummary)
	}
	if r.Aborted != "" {
		d.Conclusion = analysis.Conclusion{Verdict: analysis.VerdictInconclusive, Text: "The run ended early: " + r.Aborted}
	}
	addGoodput(&d)
	if w := clockConclusion(d); w != "" {
		d.Conclusion.Text += " " + w
	}
	return d
}

func passOf(p *testrun.PassResult) *Pass {
	if p == nil {
		return nil
	}
	recs := p.Records
	if recs == nil {
		recs = []record.Request{}
	}
	out := &Pass{PassSummary: analysis.Summarize(recs), FireAt: timestamp(p.FireAt), Shards: p.Shards, Requests: recs}
	out.setRate(p.TargetRate)
	return out
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// WriteJSON writes the document to path, indented, through WriteFileAtomic.
func WriteJSON(path string, d Document) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the result: %w", err)
	}
	return WriteFileAtomic(path, "the result", append(b, '\n'))
}

// WriteFileAtomic writes b to path through a temporary file in the same
// folder, so that a reader never sees half a file, readable by the owner
// only: the result files hold the prompts and the responses. (A file created
// 0600 is the same under any umask.) Its errors name what ("the result") and
// the user's path, never the temporary file.
func WriteFileAtomic(path, what string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s next to %s: %w", what, path, pathErr(err))
	}
	defer os.Remove(tmp.Name())
	fail := func(err error) error { return fmt.Errorf("write %s to %s: %w", what, path, pathErr(err)) }
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fail(err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
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
