package workerhost

import (
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// TestHooks are settings that only tests give a worker built in-process:
// several workers in one process, one with a clock off the server's.
type TestHooks struct {
	// Name is added to the worker's identity ("<pid>@<host>@<name>
	// endpoints=..."), so that workers of one process have identities of
	// their own, as workers of different processes do.
	Name string
	// Clock, when set, is the worker's clock instead of time.Now: the
	// worker fires the concurrent pass's send instant and stamps its
	// records by it, and estimates its offset from the server's clock with
	// it, as a worker on a machine whose clock is off does.
	Clock func() time.Time
}

// NewTestWorker is New with TestHooks, for tests that run workers
// in-process. Production workers never set them.
func NewTestWorker(c client.Client, cfg Config, hooks TestHooks) (worker.Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	acts := NewActivities(cfg)
	acts.Clock = hooks.Clock
	return newWorker(c, cfg.TaskQueue, acts, hooks.Name), nil
}
