package testrun

import (
	"fmt"
	"math"
	"time"
)

// Upper bounds on a run's settings, so that every run ends: a value past one
// is refused before anything is started (the starter exits 2), and by the
// workflow itself.
const (
	// HardMaxShards keeps the concurrent pass's activities, all pending at
	// once, well within the Temporal server's limit of pending activities
	// per run (limit.numPendingActivities.error, 2000 by default): past it
	// the server refuses to schedule more and the run waits for ever.
	HardMaxShards = 1000
	// HardMaxTokens bounds -max-tokens (current models answer at most a few
	// hundred thousand tokens).
	HardMaxTokens = 1_000_000
	// MaxFireLead bounds -fire-lead.
	MaxFireLead = 10 * time.Minute
	// MaxTimeout bounds -timeout.
	MaxTimeout = 24 * time.Hour
	// MaxRequestTimeout bounds -request-timeout.
	MaxRequestTimeout = time.Hour
	// MaxExecutionTimeout caps a run's workflow execution timeout (see
	// ExecutionTimeout).
	MaxExecutionTimeout = 30 * 24 * time.Hour
)

// boundsError checks the upper bounds; nil when every value is within them.
func (in Input) boundsError() error {
	switch {
	case in.MaxShards > HardMaxShards:
		return fmt.Errorf("-shards must be at most %d (a run may have at most 2,000 pending activities on the server), got %d", HardMaxShards, in.MaxShards)
	case in.MaxTokens > HardMaxTokens:
		return fmt.Errorf("-max-tokens must be at most %d, got %d", HardMaxTokens, in.MaxTokens)
	case in.FireLead > MaxFireLead:
		return fmt.Errorf("-fire-lead must be at most %s, got %s", MaxFireLead, in.FireLead)
	case in.Timeout > MaxTimeout:
		return fmt.Errorf("-timeout must be at most %s, got %s", fmtDuration(MaxTimeout), in.Timeout)
	case in.RequestTimeout > MaxRequestTimeout:
		return fmt.Errorf("-request-timeout must be at most %s, got %s", fmtDuration(MaxRequestTimeout), in.RequestTimeout)
	}
	return nil
}

// fmtDuration writes a whole number of hours as "24h".
func fmtDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// ExecutionTimeout is the run's workflow execution timeout, a backstop
// behind the bounds of every wait (see docs/limits.md, "A run never hangs"): no
// request is sent after -timeout, and a batch scheduled before it runs at
// most 3 tries of its start-to-close timeout (the lead, plus one request
// timeout and 5 s per wave, plus 30 s). So: -timeout, plus 3 tries of the
// longest batch the run can have, plus 10 minutes of margin; at most
// MaxExecutionTimeout. in has its defaults applied and is valid.
func (in Input) ExecutionTimeout() time.Duration {
	waves := 1
	levels := append([]int{in.Concurrency}, in.Sweep...)
	maxConc := 0
	for _, c := range levels {
		waves = max(waves, in.waves(c))
		maxConc = max(maxConc, c)
	}
	lead := max(in.FireLead, AutoFireLead(min(in.MaxShards, in.Requests))+ConnectLead(min(maxConc, in.Requests)))
	// With -rate, a batch sends its last request at the schedule's span.
	batch := satAddDuration(lead, in.ScheduleSpan(), satMulDuration(time.Duration(waves), in.RequestTimeout+5*time.Second), 30*time.Second)
	d := satAddDuration(in.Timeout, satMulDuration(3, batch), 10*time.Minute)
	return min(d, MaxExecutionTimeout)
}

// waves bounds the waves of requests of one batch of a concurrent pass at
// concurrency c: its requests over its share of c.
func (in Input) waves(c int) int {
	c = max(c, 1)
	shards := max(min(in.Requests, c, in.MaxShards), 1)
	perShard := (in.Requests + shards - 1) / shards
	conc := max(c/shards, 1)
	return (perShard + conc - 1) / conc
}

// satAdd and satMul are int arithmetic that stops at math.MaxInt instead
// of wrapping (the operands are not negative).
func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

func satAddDuration(ds ...time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		if d > math.MaxInt64-sum {
			return math.MaxInt64
		}
		sum += d
	}
	return sum
}

func satMulDuration(n, d time.Duration) time.Duration {
	if n != 0 && d > math.MaxInt64/n {
		return math.MaxInt64
	}
	return n * d
}

// AutoFireLead is the default time between scheduling the concurrent pass and
// its common send instant: enough for the server to hand every shard to a
// worker (the Temporal dev server starts a few hundred activities a second).
func AutoFireLead(shards int) time.Duration {
	return 500*time.Millisecond + time.Duration(shards)*10*time.Millisecond
}

// ConnectLead is the time added to AutoFireLead for the worker to open, before
// the instant, the connections of concurrency requests sent at once (TCP,
// TLS handshake, HTTP/2 SETTINGS; over HTTPS with HTTP/1.1, a thousand
// handshakes took more than a second on a busy 2-core machine): 2 ms per
// request in flight.
func ConnectLead(concurrency int) time.Duration {
	return time.Duration(max(concurrency, 0)) * 2 * time.Millisecond
}
