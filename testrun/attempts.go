package testrun

import (
	"sort"

	"github.com/llmconc/llmconc/record"
)

// CollapseAttempts makes one record per request, ordered by index. A request
// reported more than once with the same attempt counts once (the first
// report wins); one sent more than once (-retry backoff) becomes its last
// try's record, with every try in Attempts and TotalLatencySeconds from the
// first send to the final answer.
func CollapseAttempts(recs []record.Request) []record.Request {
	type key struct {
		index   int
		attempt int32
	}
	seen := map[key]bool{}
	tries := map[int][]record.Request{}
	var order []int
	for _, rec := range recs {
		k := key{rec.Index, rec.Attempt}
		if seen[k] {
			continue
		}
		seen[k] = true
		if tries[rec.Index] == nil {
			order = append(order, rec.Index)
		}
		tries[rec.Index] = append(tries[rec.Index], rec)
	}
	sort.Ints(order)
	out := make([]record.Request, 0, len(order))
	for _, idx := range order {
		ts := tries[idx]
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].Attempt < ts[j].Attempt })
		last := ts[len(ts)-1]
		if len(ts) > 1 {
			last.Attempts = make([]record.Attempt, len(ts))
			for i, t := range ts {
				a := record.Attempt{Attempt: t.Attempt, SentAt: t.SentAt, ReceivedAt: t.ReceivedAt, LatencySeconds: t.LatencySeconds,
					HTTPStatus: t.HTTPStatus, Error: t.Error, RetryAfterSeconds: t.RetryAfterSeconds}
				if i > 0 && !t.SentAt.IsZero() && !ts[i-1].ReceivedAt.IsZero() {
					a.WaitSeconds = t.SentAt.Sub(ts[i-1].ReceivedAt).Seconds()
				}
				last.Attempts[i] = a
			}
			if !ts[0].SentAt.IsZero() && !last.ReceivedAt.IsZero() {
				last.TotalLatencySeconds = last.ReceivedAt.Sub(ts[0].SentAt).Seconds()
			}
		}
		out = append(out, last)
	}
	return out
}
