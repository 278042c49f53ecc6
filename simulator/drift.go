package simulator

import (
	"flag"
	"fmt"
	"math"
	"sync"
	"time"
)

// Drift modes (Drift.Mode).
const (
	DriftNone = ""
	// DriftRamp scales latency from 1 to Drift.Factor linearly over
	// Drift.For, starting Drift.After the first chat request; it then stays
	// at Factor.
	DriftRamp = "ramp"
	// DriftStep scales latency by Drift.Factor from Drift.After the first
	// chat request, for Drift.For (for good when For is 0), and by 1
	// otherwise.
	DriftStep = "step"
)

// Drift makes the simulated endpoint's speed change over time, as a real
// one does under other customers' load, the time of day, or other work on
// the machine. Every duration of a request (Latency, Jitter, TTFT and
// PerToken) is multiplied by the factor in effect when the request gets its
// concurrency slot. Time counts from the first chat request that gets a
// slot, so that a test's start-up does not eat into the drift.
//
// Examples: latency doubling over a minute is {Mode: DriftRamp, Factor: 2,
// For: time.Minute}; a server four times slower for its first 10 s (for
// example during a sequential pass) is {Mode: DriftStep, Factor: 4, For:
// 10 * time.Second}; one that becomes four times faster after 10 s is
// {Mode: DriftStep, Factor: 0.25, After: 10 * time.Second}.
type Drift struct {
	Mode   string
	Factor float64
	After  time.Duration
	For    time.Duration
}

// factor is the latency multiplier at elapsed time since the first chat
// request.
func (d Drift) factor(elapsed time.Duration) float64 {
	switch d.Mode {
	case DriftRamp:
		switch {
		case elapsed < d.After:
			return 1
		case d.For <= 0 || elapsed >= d.After+d.For:
			return d.Factor
		}
		frac := float64(elapsed-d.After) / float64(d.For)
		return 1 + (d.Factor-1)*frac
	case DriftStep:
		if elapsed >= d.After && (d.For <= 0 || elapsed < d.After+d.For) {
			return d.Factor
		}
	}
	return 1
}

func (d Drift) validate() error {
	switch d.Mode {
	case DriftNone:
		return nil
	case DriftRamp, DriftStep:
	default:
		return fmt.Errorf("Drift.Mode (-drift) must be ramp or step, got %q", d.Mode)
	}
	if math.IsNaN(d.Factor) || math.IsInf(d.Factor, 0) || d.Factor <= 0 || d.Factor > 1000 {
		return fmt.Errorf("Drift.Factor (-drift-factor) must be above 0 and at most 1000, got %v", d.Factor)
	}
	if d.After < 0 || d.For < 0 {
		return fmt.Errorf("Drift.After and Drift.For (-drift-after, -drift-for) must not be negative")
	}
	return nil
}

// withDefaults clamps what validate would refuse, so that New never fails:
// an unknown mode or a factor out of range means no drift.
func (d Drift) withDefaults() Drift {
	if d.validate() != nil {
		return Drift{}
	}
	return d
}

func (d *Drift) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&d.Mode, "drift", d.Mode, "latency drift: ramp (from 1x to -drift-factor over -drift-for) or step (-drift-factor for -drift-for); empty for none")
	fs.Float64Var(&d.Factor, "drift-factor", d.Factor, "latency multiplier that the drift reaches (ramp) or applies (step)")
	fs.DurationVar(&d.After, "drift-after", d.After, "when the drift begins, from the first chat request")
	fs.DurationVar(&d.For, "drift-for", d.For, "ramp: how long it takes to reach the factor; step: how long it lasts (0 = for good)")
}

// registerStreamFlags defines -no-stream.
func (c *Config) registerStreamFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.NoStream, "no-stream", c.NoStream, "ignore \"stream\": true and answer with one JSON body, like a server that does not stream")
}

// driftClock is a Server's drift, with the instant of its first chat
// request.
type driftClock struct {
	d     Drift
	once  sync.Once
	start time.Time
	now   func() time.Time // time.Now when nil (tests set it)
}

// scale returns the factor in effect now, starting the clock on its first
// call.
func (c *driftClock) scale() float64 {
	if c.d.Mode == DriftNone {
		return 1
	}
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	c.once.Do(func() { c.start = now })
	return c.d.factor(now.Sub(c.start))
}

// scaled multiplies d by f.
func scaled(d time.Duration, f float64) time.Duration {
	if f == 1 {
		return d
	}
	return time.Duration(float64(d) * f)
}
