package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/llmconc/llmconc/record"
)

// hostClock is what a batch knows of the worker that runs it: its identity,
// and how far its clock is off the Temporal server's.
//
// The estimate: when the activity starts, the worker's clock minus the
// activity's started time (activity.Info.StartedTime), which the server
// stamped when it handed the task out. The difference is the offset plus
// the time the task took from the server to this function (the poll's
// answer crossing the network, the SDK starting the activity), which is at
// least 0: an upper bound of the offset, too high by that delivery time
// (about a millisecond on one machine or a LAN, half a round trip and more
// to a distant server). The least of a worker's estimates over a pass is
// its best one (analysis.ClockOffsets).
type hostClock struct {
	identity string
	clock    func() time.Time
	// skew is the test clock's lead over time.Now (0 in production).
	skew time.Duration
	// offset is the estimate in seconds; nil when the server gave no
	// started time.
	offset *float64
}

// hostClock reads the clocks as the activity starts: call it first.
func (a *Activities) hostClock(ctx context.Context) hostClock {
	now := time.Now()
	local := now
	h := hostClock{identity: a.Identity, clock: a.Clock}
	if a.Clock != nil {
		local = a.Clock()
		h.skew = local.Sub(now)
	}
	if started := activity.GetInfo(ctx).StartedTime; !started.IsZero() {
		off := local.Sub(started).Seconds()
		h.offset = &off
	}
	return h
}

// fireAt is when, by the real clock, a worker whose clock is h's sends at
// the instant at (by its own clock, as every worker does): a clock ahead
// sends early. Only a test clock makes a difference.
func (h hostClock) fireAt(at time.Time) time.Time {
	if at.IsZero() || h.skew == 0 {
		return at
	}
	return at.Add(-h.skew)
}

// stamp names the worker and the batch's clock offset in rec, and, with a
// test clock, restamps its times by that clock, as a worker whose clock is
// off stamps its records.
func (h hostClock) stamp(rec *record.Request) {
	rec.Worker = h.identity
	rec.SetClockOffset(nil, h.offset)
	if h.skew != 0 && rec.WasSent() {
		rec.SentAt = rec.SentAt.Add(h.skew)
		if !rec.ReceivedAt.IsZero() {
			rec.ReceivedAt = rec.ReceivedAt.Add(h.skew)
		}
	}
}

// now is the worker's clock.
func (h hostClock) now() time.Time {
	if h.clock != nil {
		return h.clock()
	}
	return time.Now()
}

// finish completes a batch's output with what the history reader needs for
// the lower bound of the offset: the worker, the attempt, and the worker's
// clock as the batch returns.
func (h hostClock) finish(out *SendOutput, attempt int32) {
	out.Worker, out.ActivityAttempt = h.identity, attempt
	out.FinishedAt = h.now()
}
