// Package history reads, on the client's side, what a run's Temporal history
// holds beyond the workflow's result: the records of its batch activities,
// found by the name they are registered under (activities.SendActivity).
package history

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// ReadRecords completes a run's result with the records of its batch
// activities, read from the run's history (see testrun.PassResult) and decoded with
// dc, the data converter of c (which encrypted payloads need; nil means the
// SDK's default, as for a client).
func ReadRecords(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID, runID string, r *testrun.Result) error {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	sendScheduled := map[int64]bool{}
	var outputs []activities.SendOutput
	var in testrun.Input
	// The requests never sent become records even when the history
	// cannot be read, without their prompts then.
	defer func() { r.ExpandNotSent(in.Prompts) }()
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("read the history of run %s: %w", workflowID, err)
		}
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			if err := dc.FromPayloads(a.GetInput(), &in); err != nil {
				return fmt.Errorf("decode the input in the history of run %s: %w", workflowID, err)
			}
			continue
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activities.SendActivity {
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
		if t := ev.GetEventTime(); t != nil {
			BoundClockOffsets(&out, t.AsTime())
		}
		outputs = append(outputs, out)
	}
	r.ExpandNotSent(in.Prompts)
	MergeRecords(r, outputs)
	return nil
}

// MergeRecords adds the records of batch outputs to the passes of a run's
// result, once per request, and orders each pass's records by index. The
// requests never sent that the result holds as indexes become records
// too, without their prompts unless Result.ExpandNotSent gave them first.
func MergeRecords(r *testrun.Result, outputs []activities.SendOutput) {
	r.ExpandNotSent(nil)
	passes := map[record.Pass]*testrun.PassResult{}
	for _, p := range append([]*testrun.PassResult{r.Sequential, r.Concurrent, r.Warmup}, r.Sweep...) {
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
		p.Records = testrun.CollapseAttempts(recs)
	}
}

// BoundClockOffsets gives the records that out's batch sent (by its worker,
// in its last attempt) the lower bound of their worker's clock offset: the
// worker's clock as the batch returned (out.FinishedAt) minus completed,
// the time the server stamped on the batch's completion. With the upper
// bound that the batch recorded as it started, the offset lies between the
// two, to within the two trips between the server and the worker (see
// record.Request.SetClockOffset).
func BoundClockOffsets(out *activities.SendOutput, completed time.Time) {
	if out.FinishedAt.IsZero() || out.Worker == "" {
		return
	}
	low := out.FinishedAt.Sub(completed).Seconds()
	for i := range out.Records {
		r := &out.Records[i]
		if r.Worker == out.Worker && r.ActivityAttempt == out.ActivityAttempt && r.ClockOffsetHighSeconds != nil {
			r.SetClockOffset(&low, r.ClockOffsetHighSeconds)
		}
	}
}
