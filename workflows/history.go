package workflows

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/activities"
)

// sendActivityName is the registered name of Activities.Send.
const sendActivityName = "Send"

// ResponsesFromHistory puts the response texts back into a run's result. The
// workflow's result leaves them out to stay small; every batch's activity
// result in the run's history has them.
func ResponsesFromHistory(ctx context.Context, c client.Client, workflowID, runID string, r *RunResult) error {
	dc := converter.GetDefaultDataConverter()
	sendScheduled := map[int64]bool{}
	texts := map[string]map[int]string{}
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
		for _, rec := range out.Records {
			if texts[rec.Pass] == nil {
				texts[rec.Pass] = map[int]string{}
			}
			texts[rec.Pass][rec.Index] = rec.Response
		}
	}
	for _, p := range []*PassResult{r.Sequential, r.Concurrent} {
		if p == nil {
			continue
		}
		for i := range p.Records {
			if t, ok := texts[p.Pass][p.Records[i].Index]; ok {
				p.Records[i].Response = t
			}
		}
	}
	return nil
}
