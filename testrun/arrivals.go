package testrun

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/llmconc/llmconc/record"
)

// Limits of the open-loop rate mode (Input.Rate, Input.Burstiness).
const (
	// MaxRate bounds -rate, in requests per second.
	MaxRate = 10000
	// DefaultBurstiness is -burstiness when -rate is given without it:
	// gaps drawn from an exponential distribution, a Poisson process.
	DefaultBurstiness = 1.0
	// MinBurstiness and MaxBurstiness bound -burstiness, the shape of the
	// gamma distribution of the gaps between arrivals.
	MinBurstiness = 0.01
	MaxBurstiness = 1000
)

// ArrivalOffsets is the arrival schedule of n requests at rate requests per
// second: the offset of each from the pass's send instant, the first at 0.
// The gaps between arrivals are drawn from a gamma distribution of shape
// burstiness and mean 1/rate (scale 1/(rate × burstiness)), as vLLM's
// benchmark (`vllm bench serve --request-rate R --burstiness B`) draws them:
// burstiness 1 is a Poisson process (exponential gaps, coefficient of
// variation 1), a larger one is more regular (coefficient of variation
// 1/√burstiness), a smaller one burstier. The draws come from a PCG
// generator seeded with seed and from this package's own gamma sampler
// (Marsaglia and Tsang), not from math/rand's distributions, so one seed
// gives one schedule on every build: the workflow computes it
// deterministically, and a rerun with the recorded seed sends the same
// schedule. It is nil when rate is not positive.
func ArrivalOffsets(n int, rate, burstiness float64, seed int64) []time.Duration {
	if n <= 0 || !(rate > 0) || !(burstiness > 0) {
		return nil
	}
	g := gammaSource{r: rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)}
	scale := 1 / (rate * burstiness)
	offsets := make([]time.Duration, n)
	at := 0.0
	for i := 1; i < n; i++ {
		at += g.gamma(burstiness) * scale
		offsets[i] = time.Duration(math.Min(at*float64(time.Second), math.MaxInt64))
	}
	return offsets
}

// gammaSource draws from gamma distributions with a fixed algorithm on top
// of a PCG source.
type gammaSource struct{ r *rand.PCG }

// uniform is in (0, 1), never 0 or 1.
func (g gammaSource) uniform() float64 {
	return (float64(g.r.Uint64()>>11) + 0.5) / (1 << 53)
}

// normal is a standard normal draw (Box–Muller).
func (g gammaSource) normal() float64 {
	return math.Sqrt(-2*math.Log(g.uniform())) * math.Cos(2*math.Pi*g.uniform())
}

// gamma is a draw of Gamma(shape, 1): Marsaglia and Tsang's method, with
// the boost Gamma(a) = Gamma(a+1) × U^(1/a) for a shape below 1.
func (g gammaSource) gamma(shape float64) float64 {
	if shape < 1 {
		return g.gamma(shape+1) * math.Pow(g.uniform(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := g.normal()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := g.uniform()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// Paced reports whether the concurrent pass is sent as arrivals at
// Input.Rate rather than as one burst.
func (in Input) Paced() bool { return in.Rate > 0 }

// Arrivals is the arrival schedule of the concurrent pass's requests, in
// the order of in.Indices (see ArrivalOffsets); nil without -rate.
func (in Input) Arrivals() []time.Duration {
	if !in.Paced() {
		return nil
	}
	return ArrivalOffsets(len(in.Indices(record.PassConcurrent)), in.Rate, in.Burstiness, in.Seed)
}

// ScheduleSpan is the offset of the concurrent pass's last arrival (0
// without -rate).
func (in Input) ScheduleSpan() time.Duration {
	a := in.Arrivals()
	if len(a) == 0 {
		return 0
	}
	return a[len(a)-1]
}

// rateError checks -rate, -burstiness and the schedule they make.
func (in Input) rateError() error {
	switch {
	case in.Rate == 0 && in.Burstiness != 0:
		return fmt.Errorf("-burstiness shapes the arrivals of -rate: give -rate too")
	case in.Rate == 0 && in.Seed != 0:
		return fmt.Errorf("-seed draws the arrivals of -rate: give -rate too")
	case in.Rate == 0:
		return nil
	case !(in.Rate > 0) || in.Rate > MaxRate:
		return fmt.Errorf("-rate must be between 0 (one burst) and %d requests per second, got %g", MaxRate, in.Rate)
	case !(in.Burstiness >= MinBurstiness) || in.Burstiness > MaxBurstiness:
		return fmt.Errorf("-burstiness must be between %g and %d (1: Poisson arrivals), got %g", MinBurstiness, MaxBurstiness, in.Burstiness)
	case !in.RunsConcurrent():
		return fmt.Errorf("-rate paces the concurrent pass: it needs -passes both or concurrent, not %s", in.Passes)
	case in.ScheduleSpan() > in.Timeout:
		return fmt.Errorf("at -rate %g the %d requests arrive over %s, longer than -timeout %s: raise -rate or -timeout, or lower -requests",
			in.Rate, len(in.Indices(record.PassConcurrent)), in.ScheduleSpan().Round(time.Second), in.Timeout)
	}
	return nil
}
