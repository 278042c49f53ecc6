package workerhost

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/workflows"
)

// EnvTaskQueue is the default of the worker's -task-queue.
const EnvTaskQueue = "LLMCONC_TASK_QUEUE"

// Usage is the worker's -h.
const Usage = `Usage: worker [-task-queue Q]

Runs the concurrency test's workflows and its API calls, until interrupted
(Ctrl+C or SIGTERM: batches in flight finish first, up to 30 s). It alone
holds the API keys and the endpoints' URLs. Exit codes: 0 after a clean stop,
2 for a bad configuration or an unreachable Temporal server (one line per
problem), 1 when it stops on an error.

Flags:
`

// EnvUsage lists the environment the worker reads.
const EnvUsage = `
Environment:
  OPENAI_API_KEY        key of the endpoint "default" (required unless LLMCONC_ENDPOINTS names others)
  OPENAI_BASE_URL       its base URL (default https://api.openai.com/v1; any OpenAI-compatible /v1 URL)
  LLMCONC_ENDPOINTS     more endpoints, allow-listed by name, each with the variable holding its key (see docs/endpoints.md)
  LLMCONC_TASK_QUEUE    default of -task-queue
  LLMCONC_METRICS_ADDR  serve Prometheus metrics at http://ADDR/metrics, ADDR such as 127.0.0.1:9464 (unset: none; see docs/metrics.md)
  LLMCONC_CODEC_KEY     payload encryption key, the same as the starter's (LLMCONC_CODEC_OLD_KEYS: earlier keys)
  LLMCONC_GRPC_COMPRESSION
                        compression of the requests to Temporal: none (default) or gzip (for a slow link; see docs/workers.md)
  TEMPORAL_ADDRESS      Temporal server's host:port (default localhost:7233)
  TEMPORAL_NAMESPACE    namespace (default "default")
  TEMPORAL_PROFILE      profile of the Temporal config file (TEMPORAL_CONFIG_FILE; TLS, API keys for Temporal Cloud)
`

// ErrHelp is Run's error after -h: the usage was printed, exit 0.
var ErrHelp = flag.ErrHelp

// Run is the worker program: it parses args (without the program name),
// checks the endpoint configuration before anything else, connects to
// Temporal, and runs until interrupted (SIGINT/SIGTERM), letting activities
// in flight finish. -h prints the usage to usage and returns ErrHelp.
//
// Long because it is the worker's start-up in its order: flags, endpoints,
// metrics, Temporal, then the worker until a signal.
func Run(ctx context.Context, args []string, getenv func(string) string, usage io.Writer, logf func(format string, args ...any)) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := getenv(EnvTaskQueue)
	if def == "" {
		def = workflows.TaskQueue
	}
	taskQueue := fs.String("task-queue", def, "task queue to poll; the default is $"+EnvTaskQueue+" when set; the starter's -task-queue must match")
	fs.Usage = func() {
		fmt.Fprint(usage, Usage)
		fs.SetOutput(usage)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprint(usage, EnvUsage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ErrHelp
		}
		return &ConfigError{[]string{fmt.Sprintf("%v (run worker -h for the flags)", err)}}
	}
	if fs.NArg() > 0 {
		return &ConfigError{[]string{fmt.Sprintf("unexpected argument %q (run worker -h for the flags)", fs.Arg(0))}}
	}
	if strings.TrimSpace(*taskQueue) == "" {
		return &ConfigError{[]string{"-task-queue (or " + EnvTaskQueue + ") must not be empty"}}
	}
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	cfg.TaskQueue = strings.TrimSpace(*taskQueue)
	for _, w := range cfg.Warnings() {
		logf("worker: warning: %s", w)
	}
	if w := fileLimitWarning(); w != "" {
		logf("worker: warning: %s", w)
	}
	TuneRuntime(getenv)
	opts, err := temporalenv.Options("", temporalenv.Logger(os.Stderr, slog.LevelInfo))
	if err != nil {
		return &ConfigError{[]string{err.Error()}}
	}
	if opts.ConnectionOptions.GrpcCompression, err = GrpcCompression(getenv); err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(getenv, &opts, &cfg, logf)
	if err != nil {
		return err
	}
	defer stopMetrics()
	c, err := temporalenv.Dial(ctx, opts, 10*time.Second)
	if err != nil {
		return &ConfigError{[]string{err.Error()}}
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
	logf("worker: polling task queue %q on %s (namespace %s); endpoints: %s", cfg.TaskQueue, opts.HostPort, opts.Namespace, strings.Join(served, ", "))
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
