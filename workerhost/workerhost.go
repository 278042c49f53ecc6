// Package workerhost builds the Temporal worker that runs the concurrency test:
// it reads the endpoint configuration (API key, base URL) from the worker's
// environment and registers the workflow and the activities. The key stays in
// this process; no workflow or activity input or result carries it.
package workerhost

import (
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/workflows"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// Environment variables read by ConfigFromEnv.
const (
	EnvAPIKey  = "OPENAI_API_KEY"
	EnvBaseURL = "OPENAI_BASE_URL"
)

// Config is the worker's endpoint configuration.
type Config struct {
	APIKey  string
	BaseURL string
	// Label describes the endpoint in results, e.g. "built-in simulator".
	Label string
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string
}

// ConfigFromEnv reads OPENAI_API_KEY and OPENAI_BASE_URL through getenv
// (os.Getenv in production) and checks them.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{APIKey: strings.TrimSpace(getenv(EnvAPIKey)), BaseURL: strings.TrimSpace(getenv(EnvBaseURL))}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration with the messages a user needs.
func (c Config) Validate() error {
	if c.APIKey == "" {
		return errors.New(EnvAPIKey + " is not set: the worker needs the API key in its environment (export " + EnvAPIKey + "=...)")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("%s is not a URL such as %s", EnvBaseURL, DefaultBaseURL)
	}
	if u.User != nil {
		return fmt.Errorf("%s must not carry credentials; put the key in %s", EnvBaseURL, EnvAPIKey)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s=%q is not an http(s) URL such as %s", EnvBaseURL, c.BaseURL, DefaultBaseURL)
	}
	return nil
}

// NewActivities returns the activities bound to the configured endpoint.
func NewActivities(cfg Config) *activities.Activities {
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	pool := &activities.ConnPool{}
	hc := activities.NewHTTPClient(pool)
	oc.HTTPClient = hc
	return &activities.Activities{
		Client:     openai.NewClientWithConfig(oc),
		Endpoint:   activities.Endpoint{BaseURL: oc.BaseURL, Label: cfg.Label},
		Pool:       pool,
		HTTPClient: hc,
		Secret:     cfg.APIKey,
	}
}

// HeartbeatThrottle is the most a batch's heartbeat waits in the worker
// before it goes to Temporal. A batch heartbeats the requests it has
// answered (see activities.SendProgress); if its worker dies, what was
// answered after its last heartbeat is sent again by the retry. The SDK's
// default, 80 % of the heartbeat timeout, would leave up to 8 s of answers
// unsaved; at 1 s it costs the server one call per running batch per second.
const HeartbeatThrottle = time.Second

// Options sizes the worker. WorkerStopTimeout lets batches in flight finish
// (or time out and be recorded) when the worker is stopped, instead of being
// cancelled and sent again by another worker. The concurrent pass runs at most a few dozen
// activities at once (the shards), each of which keeps its share of the
// requests in flight on goroutines, so any concurrency fits; the pollers are
// raised so that all shards are picked up quickly.
func Options() worker.Options {
	return worker.Options{
		MaxConcurrentActivityExecutionSize:     1000,
		MaxConcurrentActivityTaskPollers:       16,
		MaxConcurrentWorkflowTaskPollers:       4,
		MaxConcurrentWorkflowTaskExecutionSize: 100,
		WorkerStopTimeout:                      30 * time.Second,
		MaxHeartbeatThrottleInterval:           HeartbeatThrottle,
	}
}

// New returns a worker on the configured task queue with the workflow and the
// activities registered. The caller starts and stops it.
func New(c client.Client, cfg Config) (worker.Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return NewWith(c, cfg.TaskQueue, NewActivities(cfg)), nil
}

// NewWith returns a worker on taskQueue (default workflows.TaskQueue) that
// runs the workflow and the given activities.
func NewWith(c client.Client, taskQueue string, acts *activities.Activities) worker.Worker {
	if taskQueue == "" {
		taskQueue = workflows.TaskQueue
	}
	w := worker.New(c, taskQueue, Options())
	w.RegisterWorkflow(workflows.ConcurrencyTest)
	w.RegisterActivity(acts)
	return w
}

// TuneRuntime sets the garbage collector for a load generator: a concurrent
// pass allocates in one burst (a connection's buffers, a request, a
// response, for every request at once), and a collection in the middle of
// it delays the sends. Collecting at 4x the live heap instead of 2x keeps the
// burst short for a few MiB more memory. A GOGC set in the environment wins.
func TuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
