package history

import (
	"context"
	"errors"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/llmconc/llmconc/testrun"
)

// clientWithFirstEvent is a client whose history of run "id" starts with
// ev (none when nil), or fails to be read with err.
func clientWithFirstEvent(ev *historypb.HistoryEvent, err error) *mocks.Client {
	it := &mocks.HistoryEventIterator{}
	it.On("HasNext").Return(ev != nil || err != nil)
	it.On("Next").Return(ev, err)
	c := &mocks.Client{}
	c.On("GetWorkflowHistory", context.Background(), "id", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(it)
	return c
}

func startedEvent(t *testing.T, input any) *historypb.HistoryEvent {
	t.Helper()
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(input)
	if err != nil {
		t.Fatal(err)
	}
	return &historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			Input:     payloads,
			TaskQueue: &taskqueuepb.TaskQueue{Name: "q"},
		},
	}}
}

func TestStartedInput(t *testing.T) {
	ctx := context.Background()
	want := testrun.Input{Model: "m", Requests: 3}
	in, queue, err := StartedInput(ctx, clientWithFirstEvent(startedEvent(t, want), nil), nil, "id")
	if err != nil || in.Model != "m" || in.Requests != 3 || queue != "q" {
		t.Errorf("StartedInput = %+v, %q, %v; want model m, 3 requests, queue q", in, queue, err)
	}

	if _, _, err := StartedInput(ctx, clientWithFirstEvent(nil, nil), nil, "id"); !errors.Is(err, ErrNoRun) {
		t.Errorf("an empty history: got %v, want ErrNoRun", err)
	}
	if _, _, err := StartedInput(ctx, clientWithFirstEvent(nil, serviceerror.NewNotFound("gone")), nil, "id"); !errors.Is(err, ErrNoRun) {
		t.Errorf("a run not found: got %v, want ErrNoRun", err)
	}
	if _, _, err := StartedInput(ctx, clientWithFirstEvent(nil, errors.New("unavailable")), nil, "id"); err == nil || errors.Is(err, ErrNoRun) || errors.Is(err, ErrNotATestRun) {
		t.Errorf("a history that cannot be read: got %v, want the read error", err)
	}
	if _, _, err := StartedInput(ctx, clientWithFirstEvent(&historypb.HistoryEvent{}, nil), nil, "id"); !errors.Is(err, ErrNotATestRun) {
		t.Errorf("a history that does not start a run: got %v, want ErrNotATestRun", err)
	}
	if _, _, err := StartedInput(ctx, clientWithFirstEvent(startedEvent(t, "not an input"), nil), nil, "id"); !errors.Is(err, ErrNotATestRun) {
		t.Errorf("an input of another workflow: got %v, want ErrNotATestRun", err)
	}
}
