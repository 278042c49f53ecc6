package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"
)

// Following a run that no worker answers for ends, with the way to resume
// it: the starter never waits without a bound.
func TestFollowGivesUpWithoutAWorker(t *testing.T) {
	c := &mocks.Client{}
	c.On("QueryWorkflow", mock.Anything, "run-1", "r1", mock.Anything, mock.Anything).Return(nil, errors.New("no poller seen for task queue"))
	handle := &mocks.WorkflowRun{}
	// The run never ends: no worker runs it.
	handle.On("Get", mock.Anything, mock.Anything).Return(func(ctx context.Context, _ any) error {
		<-ctx.Done()
		return ctx.Err()
	})
	var out bytes.Buffer
	w := newWatcher(temporalConn{client: c}, destination{human: &out}, watchOptions{})
	w.ref, w.noWorkerWait = runRef{workflowID: "run-1", runID: "r1"}, 300*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := w.follow(ctx, handle)
	if err == nil || !strings.Contains(err.Error(), "no worker answered for run run-1") || !strings.Contains(err.Error(), "-attach run-1") {
		t.Fatalf("follow returned %v, want it to give up and say how to resume", err)
	}
	if ExitCode(err) != ExitFailed {
		t.Errorf("exit code %d, want %d", ExitCode(err), ExitFailed)
	}
}
