package workerhost

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/workflows"
)

// Run is the worker program: it checks the endpoint configuration before
// anything else, connects to Temporal, and runs until interrupted
// (SIGINT/SIGTERM), letting activities in flight finish.
func Run(ctx context.Context, getenv func(string) string, logf func(format string, args ...any)) error {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		logf("worker: warning: %s", w)
	}
	TuneRuntime(getenv)
	opts, err := temporalenv.Options("", temporalenv.Logger(os.Stderr, slog.LevelInfo))
	if err != nil {
		return err
	}
	c, err := temporalenv.Dial(ctx, opts, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := New(c, cfg)
	if err != nil {
		return err
	}
	var served []string
	for _, ep := range cfg.All() {
		served = append(served, ep.Name+" ("+SafeURL(ep.BaseURL)+")")
	}
	logf("worker: polling task queue %q on %s (namespace %s); endpoints: %s", workflows.TaskQueue, opts.HostPort, opts.Namespace, strings.Join(served, ", "))
	if err := w.Run(stopOnSignal(worker.InterruptCh(), logf)); err != nil {
		return fmt.Errorf("worker stopped: %w", err)
	}
	logf("worker: stopped")
	return nil
}

// stopOnSignal passes the first signal (SIGINT or SIGTERM) on to the worker,
// saying what happens next: the worker polls no more tasks and lets the
// batches in flight finish (up to Options' WorkerStopTimeout), so that
// their records reach Temporal and nothing is sent twice.
func stopOnSignal(signals <-chan any, logf func(format string, args ...any)) <-chan any {
	stop := make(chan any, 1)
	go func() {
		sig, ok := <-signals
		if ok {
			logf("worker: %v: taking no new work; batches in flight finish first (up to %s)", sig, Options().WorkerStopTimeout)
		}
		stop <- sig
		close(stop)
	}()
	return stop
}
