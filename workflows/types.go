// Package workflows holds the workflow of one concurrency test run: a
// sequential pass of chained activities, then a concurrent pass of fanned-out
// activities that all send at one common instant.
package workflows

import (
	"fmt"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// TaskQueue is the task queue the worker polls and the starter starts runs on.
const TaskQueue = "llm-concurrency-test"

// ProgressQuery is the name of the query that returns a run's Progress.
const ProgressQuery = "progress"

// Passes values.
const (
	PassesBoth = "both"
	// PassesSweep runs one concurrent pass per level of RunInput.Sweep
	// instead of the sequential and concurrent passes.
	PassesSweep      = "sweep"
	PassesSequential = record.PassSequential
	PassesConcurrent = record.PassConcurrent
)

// Defaults and limits.
const (
	DefaultRequests       = 10
	DefaultMaxTokens      = 100
	DefaultMaxShards      = 50
	DefaultRequestTimeout = 2 * time.Minute
	DefaultTimeout        = 30 * time.Minute
	// DefaultMaxRequests is the default of RunInput.MaxRequests.
	DefaultMaxRequests = 10000
	// HardMaxRequests bounds RunInput.MaxRequests: beyond it a pass's
	// records no longer fit the workflow's history comfortably.
	HardMaxRequests      = 100000
	DefaultRetryAttempts = 5
	// MaxPromptBytes bounds the prompts of a run, which travel in its input,
	// and the result of one batch, below Temporal's 2 MiB payload limit.
	MaxPromptBytes = 1800 << 10
	// MaxHistoryBytes bounds what a run's batches may return in all, below
	// the 50 MiB at which Temporal ends a run.
	MaxHistoryBytes = 40 << 20
	// MaxSequentialRequests keeps a sequential pass, about
	// eventsPerSequentialRequest history events per request, below
	// Temporal's limit of 51,200 events per run.
	MaxSequentialRequests      = 8000
	eventsPerSequentialRequest = 6
)

// RunInput configures one run. The API key and base URL are deliberately not
// here: they belong to the worker, and a run only names one of the endpoints
// the worker serves.
type RunInput struct {
	// Endpoint names one of the worker's allow-listed endpoints
	// (record.DefaultEndpoint when empty); never a URL.
	Endpoint    string `json:"endpoint,omitempty"`
	Requests    int    `json:"requests"`
	Model       string `json:"model"`
	MaxTokens   int    `json:"max_tokens"`
	Concurrency int    `json:"concurrency"`
	Passes      string `json:"passes"`
	// Prompts holds exactly Requests prompts, one per request.
	Prompts       []string `json:"prompts,omitempty"`
	PromptsSource string   `json:"prompts_source"`
	// RequestTimeout bounds each request.
	RequestTimeout time.Duration `json:"request_timeout"`
	// Timeout bounds the run: once it has passed, no new request is sent.
	Timeout time.Duration `json:"timeout"`
	// MaxShards caps the number of activities of the concurrent pass; each
	// shard sends its share of the requests at the common instant.
	MaxShards int `json:"max_shards"`
	// Stream asks for streamed responses and streaming metrics (TTFT, TPOT,
	// inter-chunk gaps).
	Stream bool `json:"stream"`
	// Retry is "none" (the default: a failed request is recorded, not sent
	// again) or "backoff": a request answered 429 or 5xx is sent again after
	// its Retry-After (or 1 s, 2 s, 4 s, … without one), up to
	// RetryAttempts tries in all.
	Retry         string `json:"retry,omitempty"`
	RetryAttempts int    `json:"retry_attempts,omitempty"`
	// Sweep, with Passes "sweep", lists concurrency levels: one concurrent
	// pass of Requests requests per level, in this order.
	Sweep []int `json:"sweep,omitempty"`
	// FireLead is how far after the concurrent pass is scheduled its requests
	// are sent, so that every shard is ready by then. 0 picks it from the
	// number of shards.
	FireLead time.Duration `json:"fire_lead"`
	// MaxRequests caps Requests (default DefaultMaxRequests), a guard
	// against a typo that would send far more requests than meant.
	MaxRequests int `json:"max_requests,omitempty"`
	// Only, when set, limits each pass to the listed request indices
	// (pass name to indices; a pass not listed sends nothing). Prompts still
	// holds every prompt, so the indices keep their meaning. A rerun of the
	// failed requests (starter rerun -failed-only) uses it.
	Only map[string][]int `json:"only,omitempty"`
	// RerunOf is the workflow ID of the run this one reruns, if any.
	RerunOf string `json:"rerun_of,omitempty"`
	// Warmup is the number of unmeasured requests sent one after another
	// before the first measured pass (0: none), so that a model load or a
	// connection set-up does not land in a measured request. Their records
	// are kept apart (RunResult.Warmup) and take part in no figure.
	Warmup int `json:"warmup,omitempty"`
	// StreamAuto is set when Stream is the starter's default rather than
	// asked for: if the warm-up shows that the endpoint does not stream,
	// the run goes on without streaming (RunResult.StreamOff says so).
	StreamAuto bool `json:"stream_auto,omitempty"`
	// Order is the order of the two passes: OrderSequentialFirst (the
	// default, also when empty) or OrderConcurrentFirst. -repeat alternates
	// it, so that a drift of the endpoint's speed favours neither pass.
	Order string `json:"order,omitempty"`
}

// ConcurrentFirst reports whether the run sends its concurrent pass first.
func (in RunInput) ConcurrentFirst() bool { return in.Order == OrderConcurrentFirst }

// WithDefaults fills in the zero fields.
func (in RunInput) WithDefaults() RunInput {
	if in.Endpoint == "" {
		in.Endpoint = record.DefaultEndpoint
	}
	if in.Requests == 0 {
		in.Requests = DefaultRequests
	}
	if in.MaxTokens == 0 {
		in.MaxTokens = DefaultMaxTokens
	}
	if in.Concurrency == 0 {
		in.Concurrency = in.Requests
	}
	if in.Passes == "" {
		in.Passes = PassesBoth
	}
	if in.RequestTimeout == 0 {
		in.RequestTimeout = DefaultRequestTimeout
	}
	if in.Timeout == 0 {
		in.Timeout = DefaultTimeout
	}
	if in.MaxShards == 0 {
		in.MaxShards = DefaultMaxShards
	}
	if in.Retry == "" {
		in.Retry = RetryNone
	}
	if in.RetryAttempts == 0 {
		in.RetryAttempts = DefaultRetryAttempts
	}
	if in.MaxRequests == 0 {
		in.MaxRequests = DefaultMaxRequests
	}
	return in
}

// Validate checks a RunInput with its defaults applied. Its messages name the
// starter's flags.
func (in RunInput) Validate() error {
	switch {
	case record.CheckEndpointName(in.Endpoint) != nil:
		return fmt.Errorf("-endpoint %q: %v", in.Endpoint, record.CheckEndpointName(in.Endpoint))
	case in.MaxRequests < 1 || in.MaxRequests > HardMaxRequests:
		return fmt.Errorf("-max-requests must be between 1 and %d, got %d", HardMaxRequests, in.MaxRequests)
	case in.Requests < 1 || in.Requests > in.MaxRequests:
		return fmt.Errorf("-requests must be between 1 and %d (-max-requests), got %d", in.MaxRequests, in.Requests)
	case in.Concurrency < 1 || in.Concurrency > in.Requests:
		return fmt.Errorf("-concurrency must be between 1 and -requests (%d), got %d", in.Requests, in.Concurrency)
	case in.Model == "":
		return fmt.Errorf("-model must not be empty")
	case in.MaxTokens < 1:
		return fmt.Errorf("-max-tokens must be at least 1, got %d", in.MaxTokens)
	case in.Passes != PassesBoth && in.Passes != PassesSequential && in.Passes != PassesConcurrent && in.Passes != PassesSweep:
		return fmt.Errorf("-passes must be both, sequential or concurrent, got %q", in.Passes)
	case (in.Passes == PassesSweep) != (len(in.Sweep) > 0):
		return fmt.Errorf("a sweep needs its levels (-sweep 1,2,4,8), and levels need passes \"sweep\"")
	case in.sweepError() != nil:
		return in.sweepError()
	case len(in.Prompts) != in.Requests:
		return fmt.Errorf("need one prompt per request: %d prompts for %d requests", len(in.Prompts), in.Requests)
	case in.RequestTimeout <= 0:
		return fmt.Errorf("the request timeout must be positive, got %s", in.RequestTimeout)
	case in.Timeout <= 0:
		return fmt.Errorf("-timeout must be positive, got %s", in.Timeout)
	case in.MaxShards < 1:
		return fmt.Errorf("-shards must be at least 1, got %d", in.MaxShards)
	case in.Retry != RetryNone && in.Retry != RetryBackoff:
		return fmt.Errorf("-retry must be none or backoff, got %q", in.Retry)
	case in.RetryAttempts < 1 || in.RetryAttempts > 20:
		return fmt.Errorf("the retry attempts must be between 1 and 20, got %d", in.RetryAttempts)
	case in.FireLead < 0:
		return fmt.Errorf("the fire lead must not be negative, got %s", in.FireLead)
	case in.Warmup < 0 || in.Warmup > MaxWarmup:
		return fmt.Errorf("-warmup must be between 0 and %d, got %d", MaxWarmup, in.Warmup)
	case in.Order != "" && in.Order != OrderSequentialFirst && in.Order != OrderConcurrentFirst:
		return fmt.Errorf("the pass order must be %s or %s, got %q", OrderSequentialFirst, OrderConcurrentFirst, in.Order)
	case in.Order == OrderConcurrentFirst && in.Passes != PassesBoth:
		return fmt.Errorf("the concurrent pass can only come first when both passes run")
	case in.onlyError() != nil:
		return in.onlyError()
	case in.boundsError() != nil:
		return in.boundsError()
	case in.RunsConcurrent() && in.shardResultBytes() > MaxPromptBytes:
		return fmt.Errorf("each concurrent batch would return about %d KiB (%d requests of up to %d tokens), over Temporal's 2 MiB payload limit: raise -shards or lower -max-tokens",
			in.shardResultBytes()>>10, in.requestsPerShard(), in.MaxTokens)
	case in.RunsSequential() && len(in.Indices(PassesSequential)) > MaxSequentialRequests:
		return fmt.Errorf("a sequential pass of %d requests would take about %d events of the run's history, over the 51,200 a history may hold: use at most %d -requests, or -passes concurrent",
			len(in.Indices(PassesSequential)), eventsPerSequentialRequest*len(in.Indices(PassesSequential)), MaxSequentialRequests)
	case in.historyBytes() > MaxHistoryBytes:
		return fmt.Errorf("the run's responses could fill about %d MiB of its history, over the %d MiB it may use (a history may hold 50 MiB): lower -requests or -max-tokens",
			in.historyBytes()>>20, MaxHistoryBytes>>20)
	case in.promptBytes() > MaxPromptBytes:
		return fmt.Errorf("the prompts add up to %d KiB; the run's input must stay under Temporal's 2 MiB payload limit: use fewer -requests or shorter prompts",
			in.promptBytes()>>10)
	}
	return nil
}

// historyBytes bounds the size of what the run's batches return: each
// pass's records, with responses of MaxTokens tokens.
func (in RunInput) historyBytes() int {
	passes := len(in.Sweep)
	if in.RunsSequential() {
		passes++
	}
	if in.RunsConcurrent() {
		passes++
	}
	return satMul(satMul(passes, in.Requests), in.recordBytes())
}

// recordBytes bounds the size of one request's record: its prompt, its fields
// and error (600 bytes), and a response of MaxTokens tokens at no more than 6
// bytes each.
func (in RunInput) recordBytes() int {
	longest := 0
	for _, p := range in.Prompts {
		longest = max(longest, len(p))
	}
	return satAdd(longest+600, satMul(6, max(in.MaxTokens, 0)))
}

// requestsPerShard is the most requests one batch of the concurrent pass
// sends (see Shard).
func (in RunInput) requestsPerShard() int {
	shards := min(in.Requests, in.Concurrency, in.MaxShards)
	return (in.Requests + shards - 1) / shards
}

// shardResultBytes bounds the size of one concurrent batch's result.
func (in RunInput) shardResultBytes() int {
	return satMul(in.requestsPerShard(), in.recordBytes())
}

func (in RunInput) promptBytes() int {
	n := 0
	for _, p := range in.Prompts {
		n += len(p) + 3
	}
	return n
}

func (in RunInput) sweepError() error {
	seen := map[int]bool{}
	for _, l := range in.Sweep {
		if l < 1 || l > in.Requests {
			return fmt.Errorf("-sweep levels must be between 1 and -requests (%d), got %d", in.Requests, l)
		}
		if seen[l] {
			return fmt.Errorf("-sweep lists level %d twice", l)
		}
		seen[l] = true
	}
	return nil
}

func (in RunInput) onlyError() error {
	if in.Only == nil {
		return nil
	}
	runs := map[string]bool{PassesSequential: in.RunsSequential(), PassesConcurrent: in.RunsConcurrent()}
	for _, l := range in.Sweep {
		runs[SweepPass(l)] = true
	}
	total := 0
	for pass, idx := range in.Only {
		if !runs[pass] {
			return fmt.Errorf("the requests to resend name pass %q, which the run does not have", pass)
		}
		seen := map[int]bool{}
		for _, i := range idx {
			if i < 0 || i >= in.Requests || seen[i] {
				return fmt.Errorf("the requests to resend in pass %s must be distinct indices from 0 to %d, got %d", pass, in.Requests-1, i)
			}
			seen[i] = true
		}
		total += len(idx)
	}
	if total == 0 {
		return fmt.Errorf("there are no requests to resend")
	}
	return nil
}

// Indices lists the requests a pass sends, in order: every index, or the
// ones Only lists.
func (in RunInput) Indices(pass string) []int {
	if in.Only != nil {
		return in.Only[pass]
	}
	idx := make([]int, in.Requests)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Sends reports whether a pass the run has sends any request.
func (in RunInput) Sends(pass string) bool {
	return in.Only == nil || len(in.Only[pass]) > 0
}

// SweepPass is the pass name of a sweep level, as records carry it.
func SweepPass(level int) string { return fmt.Sprintf("sweep-c%d", level) }

// Retry modes.
const (
	RetryNone    = "none"
	RetryBackoff = "backoff"
)

// retrying reports whether a request answered with rec is sent again.
func (in RunInput) retrying(rec record.Request) bool {
	return in.Retry == RetryBackoff && rec.Retryable() && int(rec.Attempt) < in.RetryAttempts
}

// retryWait is how long to wait before sending again requests answered with
// recs: the longest Retry-After among them, or an exponential backoff from
// 1 s (capped at 60 s) when none said.
func retryWait(recs []record.Request) time.Duration {
	var wait time.Duration
	for _, rec := range recs {
		d := time.Duration(1<<min(max(rec.Attempt-1, 0), 6)) * time.Second
		if rec.RetryAfterSeconds != nil {
			d = time.Duration(*rec.RetryAfterSeconds * float64(time.Second))
		}
		wait = max(wait, min(d, time.Minute))
	}
	return wait
}

// RunsSequential reports whether the sequential pass is part of the run.
func (in RunInput) RunsSequential() bool {
	return in.Passes == PassesBoth || in.Passes == PassesSequential
}

// RunsConcurrent reports whether the concurrent pass is part of the run.
func (in RunInput) RunsConcurrent() bool {
	return in.Passes == PassesBoth || in.Passes == PassesConcurrent
}

// RunResult is what a run measured. The workflow returns it, and on an early
// abort it travels as the details of the workflow's error, so nothing measured
// is lost.
type RunResult struct {
	// Config is the run's input without the prompts (each record has its own).
	Config     RunInput        `json:"config"`
	Endpoint   record.Endpoint `json:"endpoint"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Sequential *PassResult     `json:"sequential,omitempty"`
	Concurrent *PassResult     `json:"concurrent,omitempty"`
	// Sweep has one concurrent pass per level, in the input's order.
	Sweep []*PassResult `json:"sweep,omitempty"`
	// Aborted says why the run ended early, if it did.
	Aborted string `json:"aborted,omitempty"`
	// Warmup holds the warm-up requests (RunInput.Warmup), kept apart from
	// the passes: no figure includes them. Its records are added from the
	// history like the passes'.
	Warmup *PassResult `json:"warmup,omitempty"`
	// StreamOff says why a run that was to stream by default did not: the
	// warm-up showed that the endpoint does not stream.
	StreamOff string `json:"stream_off,omitempty"`
}

// PassResult is one pass of a run's result. The records of the requests
// that the batch activities sent are not in it: each batch's activity result
// in the run's history has them, with their response texts, and
// RecordsFromHistory (or MergeRecords) puts them into Records. That keeps the
// workflow's result small whatever the number of requests, under Temporal's
// 2 MB payload limit.
type PassResult struct {
	Pass string `json:"pass"`
	// FireAt is the concurrent pass's common send instant.
	FireAt time.Time `json:"fire_at,omitempty"`
	// Shards is the number of activities that sent the pass's requests.
	Shards int `json:"shards"`
	// Concurrency is a sweep level's concurrency (0 for the two passes).
	Concurrency int `json:"concurrency,omitempty"`
	// Summary holds the pass's figures over all its records.
	Summary analysis.PassSummary `json:"summary"`
	// Records, as the workflow returns it, holds only the requests that no
	// batch reported: never sent (the run's -timeout had passed), or whose
	// batch failed. MergeRecords adds the rest, ordered by index.
	Records []record.Request `json:"records"`
}

// Progress is the answer to the progress query.
type Progress struct {
	// Phase is starting, warmup, sequential, concurrent (or a sweep pass),
	// done or aborted.
	Phase      string          `json:"phase"`
	Config     RunInput        `json:"config"`
	Endpoint   record.Endpoint `json:"endpoint"`
	Sequential PassProgress    `json:"sequential"`
	Concurrent PassProgress    `json:"concurrent"`
	// Events are the completed requests from the query's argument on, in
	// the order the workflow saw them complete.
	Events []ProgressEvent `json:"events"`
	// Sweep has the progress of each sweep level.
	Sweep []SweepProgress `json:"sweep,omitempty"`
	// Next is the argument that asks for the events after these.
	Next    int    `json:"next"`
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
	Concurrency int    `json:"concurrency"`
	Pass        string `json:"pass"`
	PassProgress
}

// ProgressEvent is one completed request, as the live display needs it.
type ProgressEvent struct {
	Pass           string  `json:"pass"`
	Index          int     `json:"index"`
	OK             bool    `json:"ok"`
	HTTPStatus     int     `json:"http_status"`
	LatencySeconds float64 `json:"latency_seconds"`
	Error          string  `json:"error,omitempty"`
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
