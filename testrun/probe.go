package testrun

import (
	"fmt"
	"time"

	"github.com/llmconc/llmconc/record"
)

// Probe defaults and bounds (`starter probe`).
const (
	// DefaultProbeMaxConcurrency is the default of -max-concurrency.
	DefaultProbeMaxConcurrency = 64
	// HardMaxProbeConcurrency bounds -max-concurrency.
	HardMaxProbeConcurrency = 1024
	// DefaultProbeMaxWait bounds the wait between two levels for the
	// rate-limit window to reset (-max-wait): OpenAI's windows are a
	// minute at most for requests.
	DefaultProbeMaxWait = 65 * time.Second
	// MaxProbeMaxWait bounds -max-wait.
	MaxProbeMaxWait = 10 * time.Minute
)

// Probe configures a probe of the key's limits (`starter probe`): a run of
// concurrent passes at the levels ProbeLevels(MaxConcurrency) (a sweep
// whose passes are the levels), each of RequestsAt(level) requests, that
// stops once a level is clearly past the limit. The run's Input has Passes
// "sweep", Sweep the levels and Requests the most requests of a level.
type Probe struct {
	MaxConcurrency int `json:"max_concurrency"`
	// RequestsPerLevel is the number of requests of each level; 0 means
	// twice the level.
	RequestsPerLevel int `json:"requests_per_level,omitempty"`
	// MaxWait bounds the wait between two levels for the rate-limit window
	// to reset.
	MaxWait time.Duration `json:"max_wait"`
}

// ProbeLevels are the concurrency levels of a probe up to maxConcurrency:
// 1, 2, 4, … and maxConcurrency itself last when it is no power of two.
func ProbeLevels(maxConcurrency int) []int {
	var levels []int
	for l := 1; l <= maxConcurrency; l *= 2 {
		levels = append(levels, l)
		if l > maxConcurrency/2 {
			break
		}
	}
	if len(levels) > 0 && levels[len(levels)-1] != maxConcurrency {
		levels = append(levels, maxConcurrency)
	}
	return levels
}

// RequestsAt is the number of requests the probe sends at level.
func (p Probe) RequestsAt(level int) int {
	if p.RequestsPerLevel > 0 {
		return p.RequestsPerLevel
	}
	return 2 * level
}

// ProbeInput is the input of a probe: base's settings (endpoint, model,
// prompts, timeouts, warm-up, streaming) with the probe's levels, and as
// many prompts as its largest level sends. p has its defaults applied.
func ProbeInput(base Input, p Probe, promptsFor func(n int) []string) Input {
	in := base
	in.Probe = &p
	in.Sweep = ProbeLevels(p.MaxConcurrency)
	in.Passes = PassesSweep
	in.Requests = 0
	for _, l := range in.Sweep {
		in.Requests = max(in.Requests, p.RequestsAt(l))
	}
	in.Concurrency = max(p.MaxConcurrency, 1)
	in.Retry = RetryNone
	in.Only = nil
	in.Prompts = promptsFor(in.Requests)
	return in
}

// probeIndices are the requests a probe's pass sends: the first
// RequestsAt(level) of a level; ok is false for a run that is no probe or a
// pass that is no level.
func (in Input) probeIndices(pass record.Pass) (idx []int, ok bool) {
	level, isLevel := pass.SweepLevel()
	if in.Probe == nil || !isLevel {
		return nil, false
	}
	idx = make([]int, min(in.Probe.RequestsAt(level), in.Requests))
	for i := range idx {
		idx[i] = i
	}
	return idx, true
}

// probeError checks a probe's settings; nil for a run that is no probe.
func (in Input) probeError() error {
	p := in.Probe
	if p == nil {
		return nil
	}
	if err := p.Validate(in.MaxRequests); err != nil {
		return err
	}
	switch {
	case in.Retry != RetryNone:
		return fmt.Errorf("a probe records 429s to find the limit: it does not combine with -retry %s", in.Retry)
	case in.Only != nil:
		return fmt.Errorf("a probe cannot resend only failed requests")
	}
	for _, l := range ProbeLevels(p.MaxConcurrency) {
		if p.RequestsAt(l) > in.Requests {
			return fmt.Errorf("the probe's level %d sends %d requests, more than the run's %d prompts", l, p.RequestsAt(l), in.Requests)
		}
	}
	return nil
}

// Validate checks the probe's own settings, the flags of `starter probe`;
// maxRequests is the run's -max-requests.
func (p Probe) Validate(maxRequests int) error {
	switch {
	case p.MaxConcurrency < 1 || p.MaxConcurrency > HardMaxProbeConcurrency:
		return fmt.Errorf("-max-concurrency must be between 1 and %d, got %d", HardMaxProbeConcurrency, p.MaxConcurrency)
	case p.RequestsPerLevel < 0 || p.RequestsPerLevel > maxRequests:
		return fmt.Errorf("-requests-per-level must be between 1 and %d (-max-requests), or 0 for twice the level; got %d", maxRequests, p.RequestsPerLevel)
	case p.MaxWait < 0 || p.MaxWait > MaxProbeMaxWait:
		return fmt.Errorf("-max-wait must be between 0s and %s, got %s", MaxProbeMaxWait, p.MaxWait)
	}
	for _, l := range ProbeLevels(p.MaxConcurrency) {
		if p.RequestsAt(l) > maxRequests {
			return fmt.Errorf("the probe's level %d would send %d requests, more than -max-requests (%d)", l, p.RequestsAt(l), maxRequests)
		}
	}
	return nil
}

// ProbeOutcome is what the probe's workflow decided as it went: why it
// stopped, and the waits between levels.
type ProbeOutcome struct {
	// Stopped says why the probe stopped before its last level; empty when
	// it ran them all.
	Stopped string `json:"stopped,omitempty"`
	// Waits are the pauses between levels for the rate-limit window to
	// reset.
	Waits []ProbeWait `json:"waits,omitempty"`
}

// ProbeWait is one pause of the probe before a level.
type ProbeWait struct {
	// Before is the level that was sent after the wait.
	Before  int     `json:"before"`
	Seconds float64 `json:"seconds"`
	// Why says what the last level's headers said.
	Why string `json:"why"`
}
