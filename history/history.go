// Package history reads, on the client's side, what a run's Temporal history
// holds beyond the workflow's result: the records of its batch activities,
// found by the name they are registered under (activities.SendActivity).
package history

import (
	"context"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// ReadRecords completes a run's result with the records of its batch
// activities (their results, what a batch cancelled with its run returned,
// and the last heartbeat of one lost for good), read from the run's history
// (see testrun.PassResult) and decoded with
// dc, the data converter of c (which encrypted payloads need; nil means the
// SDK's default, as for a client).
func ReadRecords(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID, runID string, r *testrun.Result) error {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	// The input of each batch, kept undecoded until a batch turns out to
	// have failed for good.
	sendScheduled := map[int64]*commonpb.Payloads{}
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
			sendScheduled[ev.GetEventId()] = a.GetInput()
		}
		if a := ev.GetActivityTaskTimedOutEventAttributes(); a != nil {
			if input, ok := sendScheduled[a.GetScheduledEventId()]; ok {
				recs, err := salvaged(dc, input, a.GetFailure())
				if err != nil {
					return fmt.Errorf("decode the last heartbeat of a lost batch in the history of run %s: %w", workflowID, err)
				}
				outputs = append(outputs, activities.SendOutput{Records: recs})
			}
			continue
		}
		result := batchOutput(ev, sendScheduled)
		if len(result.GetPayloads()) == 0 {
			continue
		}
		var out activities.SendOutput
		if err := dc.FromPayloads(result, &out); err != nil {
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

// batchOutput is what the event ev says a batch returned: its result, or,
// for a batch cancelled with its run, the details of its cancellation; nil
// when ev is not the end of one of the batches of sendScheduled.
func batchOutput(ev *historypb.HistoryEvent, sendScheduled map[int64]*commonpb.Payloads) *commonpb.Payloads {
	if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && sendScheduled[a.GetScheduledEventId()] != nil {
		return a.GetResult()
	}
	if a := ev.GetActivityTaskCanceledEventAttributes(); a != nil && sendScheduled[a.GetScheduledEventId()] != nil {
		return a.GetDetails()
	}
	return nil
}

// salvaged returns the records that a batch that failed for good by a
// timeout (its worker lost, on its last attempt) had reported in its last
// heartbeat, which its timeout failure holds (see activities.Salvaged).
func salvaged(dc converter.DataConverter, input *commonpb.Payloads, f *failurepb.Failure) ([]record.Request, error) {
	details := f.GetTimeoutFailureInfo().GetLastHeartbeatDetails()
	for c := f.GetCause(); details == nil && c != nil; c = c.GetCause() {
		details = c.GetTimeoutFailureInfo().GetLastHeartbeatDetails()
	}
	if len(details.GetPayloads()) == 0 {
		return nil, nil
	}
	var in activities.SendInput
	if err := dc.FromPayloads(input, &in); err != nil {
		return nil, err
	}
	var p activities.SendProgress
	if err := dc.FromPayloads(details, &p); err != nil {
		return nil, err
	}
	return activities.Salvaged(in.Pass, in.Requests, p), nil
}

// MergeRecords adds the records of batch outputs to the passes of a run's
// result, once per request, and orders each pass's records by index. The
// requests never sent that the result holds as indexes become records
// too, without their prompts unless Result.ExpandNotSent gave them first.
func MergeRecords(r *testrun.Result, outputs []activities.SendOutput) {
	r.ExpandNotSent(nil)
	passes := map[record.Pass]*testrun.PassResult{}
	for _, p := range r.Passes() {
		passes[p.Pass] = p
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
