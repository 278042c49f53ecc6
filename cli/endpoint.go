package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/workerhost"
)

// workerWait bounds how long the starter waits, before it starts a run, for
// a worker on the task queue that serves the run's endpoint: long enough for
// a worker started at the same time to begin polling.
const workerWait = 10 * time.Second

// memoEndpoint is the memo field that records a run's endpoint name, for
// `starter list` (and the Temporal UI).
const memoEndpoint = "endpoint"

// requireEndpoint makes sure, before a run is started, that a worker polling
// taskQueue serves the endpoint called name: a run can only choose among the
// endpoints that workers allow-list, and an unknown one is bad input (exit
// code 2) with nothing started. Each worker names its endpoints in its
// identity (see workerhost.Identity), which DescribeTaskQueue lists for every
// worker that polled the queue in the last few minutes. A worker that
// stopped within those minutes still counts; if it alone served the name,
// the worker that picks the run up refuses it as invalid input, also exit 2.
func requireEndpoint(ctx context.Context, c client.Client, address, taskQueue, name string, wait time.Duration, note io.Writer) error {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	noted := false
	for {
		workers, err := workerEndpoints(ctx, c, taskQueue)
		served, pollers := servedBy(workers), len(workers)
		if err == nil && slices.Contains(served, name) {
			noteMixedWorkers(workers, taskQueue, name, note)
			return nil
		}
		var denied *serviceerror.PermissionDenied
		if errors.As(err, &denied) {
			fmt.Fprintf(note, "(Not allowed to list the workers of task queue %q, so the worker will check endpoint %q itself.)\n", taskQueue, name)
			return nil
		}
		if !time.Now().Before(deadline) {
			switch {
			case err != nil:
				return badInput("cannot list the workers of task queue %q at %s: %v", taskQueue, address, err)
			case pollers == 0:
				return badInput("no worker is polling task queue %q at %s: start one (`go run ./worker`, with the same TEMPORAL_ADDRESS and namespace), then run again; -dev runs one of its own", taskQueue, address)
			}
			return badInput("no worker on task queue %q serves endpoint %q; the workers serve %s: choose one with -endpoint, or allow-list it in the worker's %s",
				taskQueue, name, strings.Join(served, ", "), workerhost.EnvEndpoints)
		}
		if !noted {
			fmt.Fprintf(note, "Waiting up to %s for a worker on task queue %q that serves endpoint %q…\n", wait, taskQueue, name)
			noted = true
		}
		select {
		case <-ctx.Done():
			return failed(fmt.Errorf("interrupted while waiting for a worker: nothing was started"))
		case <-tick.C:
		}
	}
}

// servedBy returns the endpoint names that workers serve, sorted, each once.
func servedBy(workers [][]string) []string {
	var served []string
	for _, names := range workers {
		served = append(served, names...)
	}
	slices.Sort(served)
	return slices.Compact(served)
}

// workerEndpoints returns, for each worker polling taskQueue for
// activities, the endpoint names it serves (see workerhost.EndpointsOf).
func workerEndpoints(ctx context.Context, c client.Client, taskQueue string) ([][]string, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.DescribeTaskQueue(dctx, taskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	if err != nil {
		return nil, err
	}
	var workers [][]string
	for _, p := range resp.GetPollers() {
		workers = append(workers, workerhost.EndpointsOf(p.GetIdentity()))
	}
	return workers, nil
}

// noteMixedWorkers says, in one line, when some of the workers that polled
// taskQueue (workers: the endpoint names of each, see workerEndpoints) do
// not serve endpoint name: a batch one of them picks up is handed to
// another (see docs/workers.md), so the run works, but that batch's
// requests leave after the common instant. A worker that stopped in the
// last few minutes still counts, as in requireEndpoint.
func noteMixedWorkers(workers [][]string, taskQueue, name string, note io.Writer) {
	without := 0
	for _, names := range workers {
		if !slices.Contains(names, name) {
			without++
		}
	}
	if without > 0 {
		fmt.Fprintf(note, "Note: %d of the %d workers on task queue %q do not serve endpoint %q: a batch one of them picks up goes to another and leaves after the common instant; give them a task queue of their own (docs/workers.md).\n",
			without, len(workers), taskQueue, name)
	}
}
