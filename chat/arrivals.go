package chat

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// A paced batch (open-loop rate mode: a prompt has an Offset) sends each
// request at its own instant, FireAt + Offset, instead of all at FireAt.
// Its senders take the prompts in the order of their instants, and each
// waits for its prompt's instant before it sends; Concurrency still caps
// the requests in flight: when every sender is busy, the next arrival
// leaves as soon as one is free, late, and its record's
// dispatch_delay_seconds says by how much. The batch opens no connections
// ahead (the arrivals are spread over the schedule, not at one instant).

// paced reports whether a prompt has an offset.
func paced(prompts []Prompt) bool {
	return slices.ContainsFunc(prompts, func(p Prompt) bool { return p.Offset > 0 })
}

// byOffset returns prompts ordered by offset (stable: by their order for
// equal offsets).
func byOffset(prompts []Prompt) []Prompt {
	sorted := slices.Clone(prompts)
	slices.SortStableFunc(sorted, func(a, b Prompt) int { return cmp.Compare(a.Offset, b.Offset) })
	return sorted
}

// arrive waits until p's instant and returns the params of its request,
// whose FireAt is that instant (its timeout and dispatch delay count from
// it); false when ctx ended first. An instant already past (a resumed
// batch, a sender that was busy) does not wait.
func (r *batchRun) arrive(ctx context.Context, p Prompt) (Params, bool) {
	params := r.b.Params
	params.FireAt = r.b.FireAt.Add(p.Offset)
	if wait := time.Until(params.FireAt); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return params, false
		}
	}
	return params, true
}
