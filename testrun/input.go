package testrun

import (
	"fmt"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// Passes values.
const (
	PassesBoth = "both"
	// PassesSweep runs one concurrent pass per level of Input.Sweep
	// instead of the sequential and concurrent passes.
	PassesSweep      = "sweep"
	PassesSequential = string(record.PassSequential)
	PassesConcurrent = string(record.PassConcurrent)
)

// Defaults and limits.
const (
	DefaultRequests       = 10
	DefaultMaxTokens      = 100
	DefaultMaxShards      = 50
	DefaultRequestTimeout = 2 * time.Minute
	DefaultTimeout        = 30 * time.Minute
	// DefaultMaxRequests is the default of Input.MaxRequests.
	DefaultMaxRequests = 10000
	// HardMaxRequests bounds Input.MaxRequests: beyond it a pass's
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

// Input configures one run. The API key and base URL are deliberately not
// here: they belong to the worker, and a run only names one of the endpoints
// the worker serves.
type Input struct {
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
	Only map[record.Pass][]int `json:"only,omitempty"`
	// RerunOf is the workflow ID of the run this one reruns, if any.
	RerunOf string `json:"rerun_of,omitempty"`
	// Warmup is the number of unmeasured requests sent one after another
	// before the first measured pass (0: none), so that a model load or a
	// connection set-up does not land in a measured request. Their records
	// are kept apart (Result.Warmup) and take part in no figure.
	Warmup int `json:"warmup,omitempty"`
	// StreamAuto is set when Stream is the starter's default rather than
	// asked for: if the warm-up shows that the endpoint does not stream,
	// the run goes on without streaming (Result.StreamOff says so).
	StreamAuto bool `json:"stream_auto,omitempty"`
	// Order is the order of the two passes: OrderSequentialFirst (the
	// default, also when empty) or OrderConcurrentFirst. -repeat alternates
	// it, so that a drift of the endpoint's speed favours neither pass.
	Order string `json:"order,omitempty"`
	// Rate, when positive, sends the concurrent pass as arrivals at this
	// many requests per second (open loop) instead of one burst, at the
	// offsets of Arrivals; Burstiness shapes their gaps and Seed draws them
	// (see ArrivalOffsets). Concurrency still caps the requests in flight.
	Rate       float64 `json:"rate,omitempty"`
	Burstiness float64 `json:"burstiness,omitempty"`
	Seed       int64   `json:"seed,omitempty"`
	// Prices are the model's prices the run's cost is reckoned at (nil:
	// unknown); CostEstimate bounds what the run can spend, reckoned by the
	// starter before it was sent (see EstimateCost). Both nil for a run
	// started before they were added.
	Prices       *Prices       `json:"prices,omitempty"`
	CostEstimate *CostEstimate `json:"cost_estimate,omitempty"`
	// SLO holds the objectives of -slo, by which each pass's goodput is
	// counted (nil: no goodput). Recorded here so that a result rebuilt
	// from the history, and a rerun, count it the same way.
	SLO *analysis.SLO `json:"slo,omitempty"`
	// Probe, when set, makes the run a probe of the key's limits (`starter
	// probe`, the workflow ConcurrencyProbe; see probe.go).
	Probe *Probe `json:"probe,omitempty"`
}

// ConcurrentFirst reports whether the run sends its concurrent pass first.
func (in Input) ConcurrentFirst() bool { return in.Order == OrderConcurrentFirst }

// WithDefaults fills in the zero fields. The starter calls it before it
// starts a run, so that the input recorded in the run's history is complete
// and a later change of a default cannot change a run in flight (see
// docs/versioning.md).
func (in Input) WithDefaults() Input {
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
	if in.Rate > 0 && in.Burstiness == 0 {
		in.Burstiness = DefaultBurstiness
	}
	return in
}

// Validate checks an Input with its defaults applied. Its messages name the
// starter's flags. The starter calls it before it starts a run: a bad input
// is refused before anything is sent.
func (in Input) Validate() error {
	for _, check := range []func() error{in.settingsError, in.sweepError, in.optionsError, in.onlyError, in.boundsError, in.scaleError, in.rateError, in.sloError, in.probeError} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// settingsError checks the endpoint, the request counts, the model and the
// passes.
func (in Input) settingsError() error {
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
	}
	return nil
}

// optionsError checks the prompts, the timeouts and the other options.
func (in Input) optionsError() error {
	switch {
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
	}
	return nil
}

// sizeError checks that what the run sends and records fits Temporal's
// limits: its input, each batch's result, the events and the bytes of its
// history.
func (in Input) sizeError() error {
	switch {
	case in.RunsConcurrent() && in.shardResultBytes() > MaxPromptBytes:
		return fmt.Errorf("each concurrent batch would return about %d KiB (%d requests of up to %d tokens), over Temporal's 2 MiB payload limit: raise -shards or lower -max-tokens",
			in.shardResultBytes()>>10, in.requestsPerShard(), in.MaxTokens)
	case in.RunsSequential() && len(in.Indices(record.PassSequential)) > MaxSequentialRequests:
		return fmt.Errorf("a sequential pass of %d requests would take about %d events of the run's history, over the 51,200 a history may hold: use at most %d -requests, or -passes concurrent",
			len(in.Indices(record.PassSequential)), eventsPerSequentialRequest*len(in.Indices(record.PassSequential)), MaxSequentialRequests)
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
func (in Input) historyBytes() int {
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
// bytes each, and, streamed, one chunk gap per token (streamGapBytes).
func (in Input) recordBytes() int {
	longest := 0
	for _, p := range in.Prompts {
		longest = max(longest, len(p))
	}
	perToken := 6
	if in.Stream {
		perToken += streamGapBytes
	}
	return satAdd(longest+600, satMul(perToken, max(in.MaxTokens, 0)))
}

// requestsPerShard is the most requests one batch of the concurrent pass
// sends (see workflows.Shard).
func (in Input) requestsPerShard() int {
	shards := min(in.Requests, in.Concurrency, in.MaxShards)
	return (in.Requests + shards - 1) / shards
}

// shardResultBytes bounds the size of one concurrent batch's result.
func (in Input) shardResultBytes() int {
	return satMul(in.requestsPerShard(), in.recordBytes())
}

func (in Input) promptBytes() int {
	n := 0
	for _, p := range in.Prompts {
		n += len(p) + 3
	}
	return n
}

func (in Input) sweepError() error {
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

func (in Input) onlyError() error {
	if in.Only == nil {
		return nil
	}
	runs := map[record.Pass]bool{record.PassSequential: in.RunsSequential(), record.PassConcurrent: in.RunsConcurrent()}
	for _, l := range in.Sweep {
		runs[record.SweepPass(l)] = true
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
func (in Input) Indices(pass record.Pass) []int {
	if idx, ok := in.probeIndices(pass); ok {
		return idx
	}
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
func (in Input) Sends(pass record.Pass) bool {
	return in.Only == nil || len(in.Only[pass]) > 0
}

// Pass orders (Input.Order).
const (
	OrderSequentialFirst = "sequential_first"
	OrderConcurrentFirst = "concurrent_first"
)

// DefaultWarmup is the starter's default number of warm-up requests;
// MaxWarmup bounds it.
const (
	DefaultWarmup = 1
	MaxWarmup     = 10
)

// Retry modes.
const (
	RetryNone    = "none"
	RetryBackoff = "backoff"
)

// RunsSequential reports whether the sequential pass is part of the run.
func (in Input) RunsSequential() bool {
	return in.Passes == PassesBoth || in.Passes == PassesSequential
}

// RunsConcurrent reports whether the concurrent pass is part of the run.
func (in Input) RunsConcurrent() bool {
	return in.Passes == PassesBoth || in.Passes == PassesConcurrent
}
