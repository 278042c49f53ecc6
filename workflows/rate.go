package workflows

import (
	"time"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
)

// The open-loop rate mode (-rate): the concurrent pass's requests are sent
// as arrivals at Input.Rate per second instead of one burst. The schedule
// is a pure function of the input (testrun.Input.Arrivals, seeded by
// Input.Seed), so the workflow computes it deterministically, and each
// request's offset from the pass's send instant travels in its RequestSpec;
// the shards split the arrivals round robin like a burst's requests. A run
// without -rate issues the same commands as before: no patch is needed
// (docs/versioning.md, "a new field of testrun.Input").

// schedule sets the send offsets of a pass's first sends: the concurrent
// pass's arrivals with -rate; nothing otherwise (a burst, a sweep level).
// specs are in the order of in.Indices(pass).
func (st *state) schedule(pass record.Pass, specs []activities.RequestSpec) {
	if pass != record.PassConcurrent || !st.in.Paced() {
		return
	}
	offsets := st.in.Arrivals()
	for i := range specs {
		if i < len(offsets) {
			specs[i].SendOffset = offsets[i]
		}
	}
}

// lastOffset is the latest send offset of a shard's requests: how long
// after the send instant its last request leaves, on schedule.
func lastOffset(specs []activities.RequestSpec) time.Duration {
	var last time.Duration
	for _, s := range specs {
		last = max(last, s.SendOffset)
	}
	return last
}
