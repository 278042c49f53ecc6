package workflows

import (
	"context"
	"fmt"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
)

// sendActivityName is the registered name of Activities.Send.
const sendActivityName = "Send"

// RecordsFromHistory completes a run's result with the records of its batch
// activities, read from the run's history (see PassResult) and decoded with
// dc, the data converter of c (which encrypted payloads need; nil means the
// SDK's default, as for a client).
func RecordsFromHistory(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID, runID string, r *RunResult) error {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	sendScheduled := map[int64]bool{}
	var outputs []activities.SendOutput
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("read the history of run %s: %w", workflowID, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == sendActivityName {
			sendScheduled[ev.GetEventId()] = true
		}
		a := ev.GetActivityTaskCompletedEventAttributes()
		if a == nil || !sendScheduled[a.GetScheduledEventId()] {
			continue
		}
		var out activities.SendOutput
		if err := dc.FromPayloads(a.GetResult(), &out); err != nil {
			return fmt.Errorf("decode a batch result in the history of run %s: %w", workflowID, err)
		}
		outputs = append(outputs, out)
	}
	MergeRecords(r, outputs)
	return nil
}

// MergeRecords adds the records of batch outputs to the passes of a run's
// result, once per request, and orders each pass's records by index.
func MergeRecords(r *RunResult, outputs []activities.SendOutput) {
	passes := map[string]*PassResult{}
	for _, p := range append([]*PassResult{r.Sequential, r.Concurrent, r.Warmup}, r.Sweep...) {
		if p != nil {
			passes[p.Pass] = p
		}
	}
	for _, p := range passes {
		recs := p.Records
		for _, out := range outputs {
			for _, rec := range out.Records {
				if rec.Pass == p.Pass {
					recs = append(recs, rec)
				}
			}
		}
		p.Records = CollapseAttempts(recs)
	}
}

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
