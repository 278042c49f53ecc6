package simulator

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"
	"time"
)

// Default values applied by New to zero (or invalid) Config fields.
const (
	DefaultOutputTokens = 50
	DefaultRateWindow   = time.Minute
	DefaultTokenLimit   = 200000
	DefaultStallFor     = 10 * time.Minute
	// DefaultSlowHeadersFor is the delay of a slow_headers fault.
	DefaultSlowHeadersFor = 30 * time.Second
)

// DefaultModels returns the models served when Config.Models is empty.
func DefaultModels() []string {
	return []string{"gpt-4.1-nano", "gpt-4o-mini", "sim-model"}
}

// Config describes the behaviour of a simulated endpoint. The zero value is
// usable: New fills in the documented defaults.
type Config struct {
	// Latency is the base time to answer a request. Non-streamed: the time
	// before the whole response is written (plus Jitter and PerToken).
	// Streamed: the time to the first token when TTFT is 0.
	Latency time.Duration
	// Jitter is extra latency drawn uniformly from [0, Jitter), derived
	// deterministically from the request (see the package documentation).
	Jitter time.Duration
	// PerToken is extra latency per output token. Non-streamed: added to
	// Latency once per completion token. Streamed: the gap between content
	// chunks.
	PerToken time.Duration
	// TTFT is, for streamed responses only, the time to the first content
	// chunk. 0 means Latency plus jitter; when set, it is used as is
	// (Jitter is not added).
	TTFT time.Duration
	// OutputTokens is the number of tokens (words) generated per
	// completion, capped by the request's max_tokens / max_completion_tokens.
	// Values <= 0 mean DefaultOutputTokens (50).
	OutputTokens int
	// MaxConcurrent is how many requests are served at once: 0 means
	// unlimited, 1 serial, K at most K; the rest wait in a FIFO queue. Queue
	// time is not part of the latency: latency starts when a request gets a
	// slot. A request keeps its slot until its response (or stream) is
	// fully written.
	MaxConcurrent int
	// RateLimit is the number of chat completion requests allowed per
	// RateWindow; 0 means no limit. Requests over the limit get HTTP 429.
	// The window is fixed: it starts at the first request counted and a new
	// one starts at the first request after it ends. Rejected (429) requests
	// do not count against the limit.
	RateLimit int
	// RateWindow is the length of the rate-limit window (default 1 minute).
	RateWindow time.Duration
	// TokenLimit is the number of tokens per RateWindow reported in the
	// x-ratelimit-*-tokens headers (default 200000). It is informational
	// only and never enforced. Each accepted request uses its prompt tokens
	// plus the completion tokens it will generate.
	TokenLimit int
	// APIKey, if non-empty, is required as "Authorization: Bearer <APIKey>";
	// otherwise requests get 401 invalid_api_key. Empty means any (or no)
	// key is accepted.
	APIKey string
	// Models are the model IDs served (listed by GET /v1/models). Chat
	// completion requests for any other model get 404 model_not_found.
	// Empty means DefaultModels().
	Models []string
	// Faults selects the fraction of requests that get each fault.
	Faults Faults
	// Drift makes the latency change over time (see Drift).
	Drift Drift
	// NoStream makes the server ignore "stream": true and answer every
	// request with one JSON body, as some OpenAI-compatible servers do.
	NoStream bool
	// Seed makes all per-request random choices reproducible.
	Seed int64
	// Azure serves Azure OpenAI's API instead of OpenAI's (see azure.go):
	// chat completions at /openai/deployments/{model}/chat/completions with
	// the query api-version=AzureAPIVersion and the key (APIKey, when set)
	// in the api-key header; Start returns the resource URL, without /v1.
	Azure bool
	// AzureAPIVersion is the api-version required in Azure mode (default
	// DefaultAzureAPIVersion).
	AzureAPIVersion string
}

// Faults lists fractions in [0,1] of chat completion requests that get each
// fault. Which requests get a fault is chosen deterministically per request
// (see the package documentation). Fractions are cumulative in field order:
// a request draws u in [0,1) and gets Error500 if u < Error500, else Error503
// if u < Error500+Error503, and so on; if the fractions sum to more than 1 the
// later faults get the remainder.
//
// A request can also ask for a fault by name, whatever the fractions: a
// "[fault:NAME]" marker anywhere in its last message gives it fault NAME
// (see FaultNames).
type Faults struct {
	// Error500 answers HTTP 500 (type server_error) immediately.
	Error500 float64
	// Error503 answers HTTP 503 (type server_error, code overloaded)
	// immediately.
	Error503 float64
	// Drop closes the connection without any response.
	Drop float64
	// Stall accepts the request and then sends nothing until the client
	// gives up, StallFor elapses or the Server is closed; the connection is
	// then closed without a response. Stalled requests do not occupy a
	// concurrency slot (faults are applied before the concurrency gate).
	Stall float64
	// StallFor bounds a stall, and a StallStream stall (default 10
	// minutes, in effect until the client gives up).
	StallFor time.Duration
	// Truncate answers 200 and then closes the connection halfway through
	// the answer: a streamed answer after half of its content chunks,
	// without its finish_reason and "data: [DONE]"; a non-streamed one
	// after half of its body (whose Content-Length promised all of it).
	Truncate float64
	// StallStream answers 200 and then stops sending halfway through the
	// answer (as Truncate), until the client gives up, StallFor elapses or
	// the Server is closed; the connection is then closed. Unlike Stall, it
	// holds its concurrency slot meanwhile.
	StallStream float64
	// Malformed answers 200 with a body that is not a chat completion: a
	// non-streamed answer is an HTML page sent as application/json; a
	// streamed one has a "data:" line that is not JSON after its first
	// content chunk.
	Malformed float64
	// SlowHeaders delays the whole answer, its headers included, by
	// SlowHeadersFor before the request goes on as usual (the concurrency
	// gate, then the latency). It does not hold a concurrency slot.
	SlowHeaders float64
	// SlowHeadersFor is the delay of SlowHeaders (default 30 s).
	SlowHeadersFor time.Duration
	// Error429 answers HTTP 429 (type requests, code rate_limit_exceeded)
	// with Retry-After: 1 immediately, whatever the rate limit.
	Error429 float64

	// Hostile faults, asked for by marker only (see hostile.go): redirect
	// answers 307 to RedirectTo (default: port 1 of the request's host);
	// huge-body answers 200 with a body of HugeBody bytes (default 1 GiB)
	// that never completes its JSON value or SSE line; huge-error answers
	// 500 with such a body; ignore-max-tokens answers a whole completion of
	// IgnoreMaxTokensBytes (default 200 KiB) whatever max_tokens says.
	RedirectTo           string
	HugeBody             int64
	IgnoreMaxTokensBytes int
}

// withDefaults returns a copy of c with defaults applied and out-of-range
// values clamped, so that any Config, including the zero value, is usable.
func (c Config) withDefaults() Config {
	for _, d := range []*time.Duration{&c.Latency, &c.Jitter, &c.PerToken, &c.TTFT} {
		if *d < 0 {
			*d = 0
		}
	}
	if c.OutputTokens <= 0 {
		c.OutputTokens = DefaultOutputTokens
	}
	if c.MaxConcurrent < 0 {
		c.MaxConcurrent = 0
	}
	if c.RateLimit < 0 {
		c.RateLimit = 0
	}
	if c.RateWindow <= 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.TokenLimit <= 0 {
		c.TokenLimit = DefaultTokenLimit
	}
	if len(c.Models) == 0 {
		c.Models = DefaultModels()
	} else {
		c.Models = append([]string(nil), c.Models...)
	}
	for _, f := range c.Faults.fractions() {
		switch {
		case math.IsNaN(*f) || *f < 0:
			*f = 0
		case *f > 1:
			*f = 1
		}
	}
	c.Drift = c.Drift.withDefaults()
	if c.Faults.StallFor <= 0 {
		c.Faults.StallFor = DefaultStallFor
	}
	if c.Azure && c.AzureAPIVersion == "" {
		c.AzureAPIVersion = DefaultAzureAPIVersion
	}
	if c.Faults.SlowHeadersFor <= 0 {
		c.Faults.SlowHeadersFor = DefaultSlowHeadersFor
	}
	return c
}

// Validate reports the first invalid field of c, phrased so that it can be
// shown to a command-line user as a single line. New never requires a valid
// Config (it clamps instead); Validate is for front ends that prefer to
// reject bad input.
func (c Config) Validate() error {
	for _, check := range []func() error{c.durationError, c.countError, c.faultError, c.Drift.validate, c.modelError, c.azureError} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// durationError checks that no duration is negative.
func (c Config) durationError() error {
	durations := []struct {
		name string
		flag string
		v    time.Duration
	}{
		{"Latency", "latency", c.Latency},
		{"Jitter", "jitter", c.Jitter},
		{"PerToken", "per-token", c.PerToken},
		{"TTFT", "ttft", c.TTFT},
		{"RateWindow", "rate-window", c.RateWindow},
		{"Faults.StallFor", "stall-for", c.Faults.StallFor},
		{"Faults.SlowHeadersFor", "slow-headers-for", c.Faults.SlowHeadersFor},
	}
	for _, d := range durations {
		if d.v < 0 {
			return fmt.Errorf("%s (-%s) must not be negative, got %v", d.name, d.flag, d.v)
		}
	}
	return nil
}

// countError checks that no count or limit is negative.
func (c Config) countError() error {
	ints := []struct {
		name string
		flag string
		v    int
	}{
		{"OutputTokens", "tokens", c.OutputTokens},
		{"MaxConcurrent", "max-concurrent", c.MaxConcurrent},
		{"RateLimit", "rate-limit", c.RateLimit},
		{"TokenLimit", "token-limit", c.TokenLimit},
	}
	for _, i := range ints {
		if i.v < 0 {
			return fmt.Errorf("%s (-%s) must not be negative, got %d", i.name, i.flag, i.v)
		}
	}
	return nil
}

// faultError checks that each fault fraction is in [0,1] and that they sum
// to at most 1.
func (c Config) faultError() error {
	fractions := []struct {
		name string
		flag string
		v    float64
	}{
		{"Faults.Error500", "fault-500", c.Faults.Error500},
		{"Faults.Error503", "fault-503", c.Faults.Error503},
		{"Faults.Drop", "fault-drop", c.Faults.Drop},
		{"Faults.Stall", "fault-stall", c.Faults.Stall},
		{"Faults.Truncate", "fault-truncate", c.Faults.Truncate},
		{"Faults.StallStream", "fault-stall-stream", c.Faults.StallStream},
		{"Faults.Malformed", "fault-malformed", c.Faults.Malformed},
		{"Faults.SlowHeaders", "fault-slow-headers", c.Faults.SlowHeaders},
		{"Faults.Error429", "fault-429", c.Faults.Error429},
	}
	sum := 0.0
	for _, f := range fractions {
		if math.IsNaN(f.v) || f.v < 0 || f.v > 1 {
			return fmt.Errorf("%s (-%s) must be a fraction in [0,1], got %v", f.name, f.flag, f.v)
		}
		sum += f.v
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("fault fractions (-fault-500, -fault-503, -fault-drop, -fault-stall, -fault-truncate, -fault-stall-stream, -fault-malformed, -fault-slow-headers, -fault-429) must sum to at most 1, got %v", sum)
	}
	return nil
}

// modelError checks that no model ID is empty.
func (c Config) modelError() error {
	for _, m := range c.Models {
		if strings.TrimSpace(m) == "" {
			return errors.New("model list (-models) must not contain empty model IDs")
		}
	}
	return nil
}

// RegisterFlags defines command-line flags on fs that set the fields of c.
// The current values of c are used as the flags' defaults, so callers set
// their preferred defaults on c before calling RegisterFlags. Flags:
//
//	-latency -jitter -per-token -ttft -tokens -max-concurrent
//	-rate-limit -rate-window -token-limit -api-key -models
//	-fault-500 -fault-503 -fault-drop -fault-stall -stall-for
//	-fault-truncate -fault-stall-stream -fault-malformed
//	-fault-slow-headers -slow-headers-for -fault-429 -seed
//	-drift -drift-factor -drift-after -drift-for
//
// The listen address is not part of Config; the command defines -addr
// itself.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.Latency, "latency", c.Latency, "base time to answer a request (streamed: time to first token unless -ttft is set)")
	fs.DurationVar(&c.Jitter, "jitter", c.Jitter, "extra latency drawn uniformly from [0, jitter), deterministic per request")
	fs.DurationVar(&c.PerToken, "per-token", c.PerToken, "extra latency per output token (streamed: gap between chunks)")
	fs.DurationVar(&c.TTFT, "ttft", c.TTFT, "streamed responses: time to first token (0 = latency + jitter)")
	fs.IntVar(&c.OutputTokens, "tokens", c.OutputTokens, "tokens (words) generated per completion, capped by the request's max_tokens")
	fs.IntVar(&c.MaxConcurrent, "max-concurrent", c.MaxConcurrent, "requests served at once, the rest queue FIFO (0 = unlimited)")
	fs.IntVar(&c.RateLimit, "rate-limit", c.RateLimit, "requests allowed per rate window, over the limit -> 429 (0 = no limit)")
	fs.DurationVar(&c.RateWindow, "rate-window", c.RateWindow, "length of the fixed rate-limit window")
	fs.IntVar(&c.TokenLimit, "token-limit", c.TokenLimit, "tokens per rate window reported in x-ratelimit-*-tokens headers (not enforced)")
	fs.StringVar(&c.APIKey, "api-key", c.APIKey, "if set, require \"Authorization: Bearer <key>\"")
	defModels := strings.Join(c.Models, ",")
	if defModels == "" {
		defModels = strings.Join(DefaultModels(), ",")
	}
	fs.Func("models", "comma-separated model IDs to serve (default "+defModels+")", func(v string) error {
		var models []string
		for _, m := range strings.Split(v, ",") {
			m = strings.TrimSpace(m)
			if m == "" {
				return fmt.Errorf("empty model ID in %q", v)
			}
			models = append(models, m)
		}
		c.Models = models
		return nil
	})
	fs.Float64Var(&c.Faults.Error500, "fault-500", c.Faults.Error500, "fraction of requests answered with HTTP 500")
	fs.Float64Var(&c.Faults.Error503, "fault-503", c.Faults.Error503, "fraction of requests answered with HTTP 503")
	fs.Float64Var(&c.Faults.Drop, "fault-drop", c.Faults.Drop, "fraction of requests whose connection is closed without a response")
	fs.Float64Var(&c.Faults.Stall, "fault-stall", c.Faults.Stall, "fraction of requests that never get an answer")
	fs.DurationVar(&c.Faults.StallFor, "stall-for", c.Faults.StallFor, "how long a stalled request or stream is held before its connection is closed (0 = 10m)")
	fs.Float64Var(&c.Faults.Truncate, "fault-truncate", c.Faults.Truncate, "fraction of requests whose answer is cut off halfway by closing the connection")
	fs.Float64Var(&c.Faults.StallStream, "fault-stall-stream", c.Faults.StallStream, "fraction of requests whose answer stops halfway, the connection left open (see -stall-for)")
	fs.Float64Var(&c.Faults.Malformed, "fault-malformed", c.Faults.Malformed, "fraction of requests answered 200 with a body that is not a chat completion")
	fs.Float64Var(&c.Faults.SlowHeaders, "fault-slow-headers", c.Faults.SlowHeaders, "fraction of requests whose answer, headers included, is delayed by -slow-headers-for")
	fs.DurationVar(&c.Faults.SlowHeadersFor, "slow-headers-for", c.Faults.SlowHeadersFor, "delay of a slow-headers fault (0 = 30s)")
	fs.Float64Var(&c.Faults.Error429, "fault-429", c.Faults.Error429, "fraction of requests answered with HTTP 429 and Retry-After: 1")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed for all per-request random choices")
	c.Drift.registerFlags(fs)
	c.registerStreamFlags(fs)
	c.registerAzureFlags(fs)
}

// fractions returns pointers to the fault fractions, in the order of their
// intervals (see Faults).
func (f *Faults) fractions() []*float64 {
	return []*float64{&f.Error500, &f.Error503, &f.Drop, &f.Stall, &f.Truncate, &f.StallStream, &f.Malformed, &f.SlowHeaders, &f.Error429}
}
