package workflows

import (
	"context"
	"fmt"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/activities"
)

// sendActivityName is the registered name of Activities.Send.
const sendActivityName = "Send"

// RecordsFromHistory completes a run's result with the records of its batch
// activities, read from the run's history (see PassResult).
func RecordsFromHistory(ctx context.Context, c client.Client, workflowID, runID string, r *RunResult) error {
	dc := converter.GetDefaultDataConverter()
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
	for _, p := range append([]*PassResult{r.Sequential, r.Concurrent}, r.Sweep...) {
		if p != nil {
			passes[p.Pass] = p
		}
	}
	for _, p := range passes {
		seen := map[int]bool{}
		for _, rec := range p.Records {
			seen[rec.Index] = true
		}
		for _, out := range outputs {
			for _, rec := range out.Records {
				if rec.Pass == p.Pass && !seen[rec.Index] {
					seen[rec.Index] = true
					p.Records = append(p.Records, rec)
				}
			}
		}
		sort.SliceStable(p.Records, func(i, j int) bool { return p.Records[i].Index < p.Records[j].Index })
	}
}
