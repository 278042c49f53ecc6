package history

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/testrun"
)

// ErrNoRun is the error of StartedInput for a workflow ID with no run.
var ErrNoRun = errors.New("no run with that workflow ID")

// ErrNotATestRun is the error of StartedInput for a run whose history does
// not start with the input of a concurrency test run. When the input could
// not be decoded, the decoding error is wrapped too (a payload encrypted
// with another key: see codec.IsKeyError).
var ErrNotATestRun = errors.New("not a concurrency test run")

// StartedInput reads the input and the task queue of the latest run of
// workflowID from the first event of its history, decoded with dc (nil
// means the SDK's default).
func StartedInput(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID string) (testrun.Input, string, error) {
	var in testrun.Input
	queue, err := startedInto(ctx, c, dc, workflowID, &in)
	return in, queue, err
}

// StartedComparison reads the input and the task queue of the latest run
// of comparison workflowID, as StartedInput does a run's.
func StartedComparison(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID string) (testrun.ComparisonInput, string, error) {
	var in testrun.ComparisonInput
	queue, err := startedInto(ctx, c, dc, workflowID, &in)
	return in, queue, err
}

// startedInto decodes the input of the latest run of workflowID into in,
// and returns its task queue.
func startedInto(ctx context.Context, c client.Client, dc converter.DataConverter, workflowID string, in any) (string, error) {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return "", ErrNoRun
	}
	first, err := it.Next()
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return "", ErrNoRun
		}
		return "", fmt.Errorf("read the history of run %s: %w", workflowID, err)
	}
	started := first.GetWorkflowExecutionStartedEventAttributes()
	if started == nil {
		return "", ErrNotATestRun
	}
	if err := dc.FromPayloads(started.GetInput(), in); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotATestRun, err)
	}
	return started.GetTaskQueue().GetName(), nil
}
