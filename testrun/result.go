package testrun

import (
	"sort"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// Result is what a run measured. The workflow returns it, and on an early
// abort it travels as the details of the workflow's error, so nothing measured
// is lost.
type Result struct {
	// Config is the run's input without the prompts (each record has its own).
	Config     Input           `json:"config"`
	Endpoint   record.Endpoint `json:"endpoint"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Sequential *PassResult     `json:"sequential,omitempty"`
	Concurrent *PassResult     `json:"concurrent,omitempty"`
	// Sweep has one concurrent pass per level, in the input's order.
	Sweep []*PassResult `json:"sweep,omitempty"`
	// Aborted says why the run ended early, if it did.
	Aborted string `json:"aborted,omitempty"`
	// Warmup holds the warm-up requests (Input.Warmup), kept apart from
	// the passes: no figure includes them. Its records are added from the
	// history like the passes'.
	Warmup *PassResult `json:"warmup,omitempty"`
	// StreamOff says why a run that was to stream by default did not: the
	// warm-up showed that the endpoint does not stream.
	StreamOff string `json:"stream_off,omitempty"`
	// Probe is what a probe (Config.Probe) decided as it went.
	Probe *ProbeOutcome `json:"probe,omitempty"`
}

// PassResult is one pass of a run's result. The records of the requests
// that the batch activities sent are not in it: each batch's activity result
// in the run's history has them, with their response texts, and
// history.RecordsFromHistory (or history.MergeRecords) puts them into Records. That keeps the
// workflow's result small whatever the number of requests, under Temporal's
// 2 MB payload limit.
type PassResult struct {
	Pass record.Pass `json:"pass"`
	// FireAt is the concurrent pass's common send instant.
	FireAt time.Time `json:"fire_at,omitempty"`
	// Shards is the number of activities that sent the pass's requests.
	Shards int `json:"shards"`
	// Concurrency is a sweep level's concurrency (0 for the two passes).
	Concurrency int `json:"concurrency,omitempty"`
	// TargetRate is the concurrent pass's -rate, in requests per second,
	// when it was sent as arrivals at that rate (0: one burst).
	TargetRate float64 `json:"target_rate,omitempty"`
	// Summary holds the pass's figures over all its records.
	Summary analysis.PassSummary `json:"summary"`
	// Records, as the workflow returns it, is empty (runs of earlier
	// builds have the records of failed batches here): every record is in
	// the history, as a batch's result or, for a batch that failed for
	// good, in its last heartbeat, and history.ReadRecords adds them,
	// ordered by index.
	Records []record.Request `json:"records"`
	// NotSent, as the workflow returns it, is the requests that were never
	// answered and that no batch reported (the run's -timeout had passed,
	// or their batch failed for good), by reason: ten thousand of them
	// take a few kilobytes, where as records (each with its prompt and its
	// error) they would take Temporal's 2 MiB of a result.
	// Result.ExpandNotSent turns them into records, and empties it.
	NotSent []NotSent `json:"not_sent,omitempty"`
}

// NotSent is the requests of a pass that were not sent, or whose batch
// failed before reporting them, for one reason.
type NotSent struct {
	Error   string `json:"error"`
	Indexes []int  `json:"indexes"`
}

// AddNotSent notes that request index was not sent, for why, in groups.
func AddNotSent(groups []NotSent, index int, why string) []NotSent {
	for i := range groups {
		if groups[i].Error == why {
			groups[i].Indexes = append(groups[i].Indexes, index)
			return groups
		}
	}
	return append(groups, NotSent{Error: why, Indexes: []int{index}})
}

// NotSentRecord is the record of request index of pass, not sent for why.
func NotSentRecord(pass record.Pass, index int, prompt, model, why string) record.Request {
	return record.Request{Index: index, Pass: pass, Prompt: prompt, Model: model, Error: why}
}

// Passes returns the result's passes that ran: sequential, concurrent,
// warm-up, then the sweep's levels.
func (r *Result) Passes() []*PassResult {
	var out []*PassResult
	for _, p := range append([]*PassResult{r.Sequential, r.Concurrent, r.Warmup}, r.Sweep...) {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// ExpandNotSent turns every pass's NotSent into records, with their prompts
// from prompts (the run's input; nil when it could not be read: the records
// then have none), ordered by index with the pass's other records.
func (r *Result) ExpandNotSent(prompts []string) {
	for _, p := range r.Passes() {
		if len(p.NotSent) == 0 {
			continue
		}
		for _, g := range p.NotSent {
			for _, i := range g.Indexes {
				var prompt string
				if i >= 0 && i < len(prompts) {
					prompt = prompts[i]
				}
				p.Records = append(p.Records, NotSentRecord(p.Pass, i, prompt, r.Config.Model, g.Error))
			}
		}
		p.NotSent = nil
		sort.SliceStable(p.Records, func(i, j int) bool { return p.Records[i].Index < p.Records[j].Index })
	}
}

// Phases of a run, as Progress.Phase has them; while a pass runs, the phase
// is the pass's name (record.Pass).
const (
	PhaseStarting = "starting"
	PhaseDone     = "done"
	PhaseAborted  = "aborted"
)

// Progress is the answer to the progress query.
type Progress struct {
	// Phase is starting, warmup, sequential, concurrent (or a sweep pass),
	// done or aborted.
	Phase      string          `json:"phase"`
	Config     Input           `json:"config"`
	Endpoint   record.Endpoint `json:"endpoint"`
	Sequential PassProgress    `json:"sequential"`
	Concurrent PassProgress    `json:"concurrent"`
	// Events are the completed requests from the query's argument on, in
	// the order the workflow saw them complete.
	Events []ProgressEvent `json:"events"`
	// Sweep has the progress of each sweep level.
	Sweep []SweepProgress `json:"sweep,omitempty"`
	// Next is the argument that asks for the events after these.
	Next int `json:"next"`
	// More is set when events after Next are waiting: an answer carries a
	// bounded number of them (see workflows.MaxProgressEvents).
	More    bool   `json:"more,omitempty"`
	Aborted string `json:"aborted,omitempty"`
}

// PassProgress counts one pass's requests. Summary is set once the pass is done.
type PassProgress struct {
	Total   int                   `json:"total"`
	Done    int                   `json:"done"`
	Summary *analysis.PassSummary `json:"summary,omitempty"`
}

// SweepProgress is the progress of one sweep level.
type SweepProgress struct {
	Concurrency int         `json:"concurrency"`
	Pass        record.Pass `json:"pass"`
	PassProgress
}

// ProgressEvent is one completed request, as the live display needs it.
type ProgressEvent struct {
	Pass           record.Pass `json:"pass"`
	Index          int         `json:"index"`
	OK             bool        `json:"ok"`
	HTTPStatus     int         `json:"http_status"`
	LatencySeconds float64     `json:"latency_seconds"`
	Error          string      `json:"error,omitempty"`
	// Attempt numbers the try of a request sent more than once (0 for the
	// first).
	Attempt int32 `json:"attempt,omitempty"`
}

// EventOf returns the progress event of a record.
func EventOf(r record.Request) ProgressEvent {
	ev := ProgressEvent{Pass: r.Pass, Index: r.Index, OK: r.OK, HTTPStatus: r.HTTPStatus, LatencySeconds: r.LatencySeconds, Error: r.Error}
	if r.Attempt > 1 {
		ev.Attempt = r.Attempt
	}
	return ev
}
