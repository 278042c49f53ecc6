package cli

import (
	"flag"
	"math/rand/v2"

	"github.com/llmconc/llmconc/testrun"
)

// rateFlags registers the flags of the open-loop rate mode.
func rateFlags(fs *flag.FlagSet, o *options) {
	fs.Float64Var(&o.rate, "rate", 0, "send the concurrent pass as arrivals at this many requests per second (open loop) instead of one burst; -concurrency still caps the requests in flight (0: one burst)")
	fs.Float64Var(&o.burstiness, "burstiness", 0, "with -rate: the shape of the gamma-distributed gaps between arrivals, as vLLM's benchmark defines it: 1 (the default) for Poisson arrivals, larger for more regular ones, smaller for burstier ones")
	fs.Int64Var(&o.seed, "seed", 0, "with -rate: the seed of the arrival schedule, recorded in the result, so that a rerun with it sends the same schedule (0: pick one)")
}

// applyRate puts the rate mode's settings into in: with -rate, the
// burstiness's default and a seed picked at random when none was given
// (recorded in the input, so the schedule can be sent again). -repeat,
// which repeats the verdict's comparison, does not combine with it: a run
// with -rate gives no verdict.
func (o options) applyRate(in *testrun.Input) error {
	in.Rate, in.Burstiness, in.Seed = o.rate, o.burstiness, o.seed
	if in.Rate == 0 {
		return nil
	}
	if o.repeat > 1 {
		return badInput("-repeat repeats the comparison of both passes for a verdict, which a run with -rate does not give: drop one of them")
	}
	if in.Burstiness == 0 {
		in.Burstiness = testrun.DefaultBurstiness
	}
	for in.Seed == 0 {
		in.Seed = rand.Int64N(1 << 53)
	}
	return nil
}
