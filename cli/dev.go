package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"golang.org/x/term"

	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/workerhost"
	"github.com/llmconc/llmconc/workflows"
)

// Demo ports: the Temporal CLI's usual ones, when free.
const (
	devPort   = 7233
	devUIPort = 8233
)

// devEnv is the self-contained demo: a dev server, an in-process worker on a
// task queue of its own, and the simulator when no key is set.
type devEnv struct {
	address   string
	uiURL     string
	taskQueue string
	endpoint  string

	server *devserver.Server
	sim    *simulator.Server
	client client.Client
	worker worker.Worker
}

// startDev brings the demo environment up.
func startDev(ctx context.Context, o options, stdout, stderr io.Writer) (env *devEnv, err error) {
	env = &devEnv{taskQueue: workflows.TaskQueue + "-dev-" + randomHex(4)}
	defer func() {
		if err != nil {
			env.close()
		}
	}()

	cfg, err := devWorkerConfig(o)
	if err != nil {
		return nil, badInput("%v", err)
	}
	if cfg.APIKey == "" {
		// 1-2 s to the first token, then 50 tokens 20 ms apart: 2-3 s per
		// request, streamed or not.
		env.sim = simulator.New(simulator.Config{
			Latency:  time.Second,
			Jitter:   time.Second,
			PerToken: 20 * time.Millisecond,
			APIKey:   "sim-" + randomHex(8),
			Models:   append(simulator.DefaultModels(), o.model),
			Seed:     1,
		})
		base, err := env.sim.Start("127.0.0.1:0")
		if err != nil {
			return nil, failed(fmt.Errorf("start the simulator: %w", err))
		}
		cfg.APIKey, cfg.BaseURL = env.sim.Config().APIKey, base
		cfg.Label = "built-in simulator, 2-3 s per request; no OPENAI_API_KEY set"
	}
	env.endpoint = cfg.BaseURL
	if cfg.Label != "" {
		env.endpoint += " (" + cfg.Label + ")"
	}

	local := fmt.Sprintf("127.0.0.1:%d", devPort)
	if !devserver.PortFree(devPort) && devserver.Answers(ctx, local, client.DefaultNamespace) {
		fmt.Fprintf(stdout, "Using the Temporal server already running at %s.\n", local)
		env.address = local
		if !devserver.PortFree(devUIPort) {
			env.uiURL = fmt.Sprintf("http://localhost:%d", devUIPort)
		}
	} else {
		port, uiPort := 0, 0
		if devserver.PortFree(devPort) {
			port = devPort
		}
		if devserver.PortFree(devUIPort) {
			uiPort = devUIPort
		}
		fmt.Fprintln(stdout, "Starting a local Temporal dev server…")
		srv, err := devserver.Start(ctx, devserver.Options{Port: port, UIPort: uiPort, Log: stdout, SearchAttributes: workflows.SearchAttributeTypes})
		if err != nil {
			return nil, failed(err)
		}
		env.server, env.address, env.uiURL = srv, srv.Address, srv.UIURL
	}

	copts, err := temporalenv.Options(env.address, temporalenv.QuietLogger(stderr))
	if err != nil {
		return nil, badInput("%v", err)
	}
	if env.client, err = temporalenv.Dial(ctx, copts, 10*time.Second); err != nil {
		return nil, failed(err)
	}
	cfg.TaskQueue = env.taskQueue
	workerhost.TuneRuntime(os.Getenv)
	if env.worker, err = workerhost.New(env.client, cfg); err != nil {
		return nil, badInput("%v", err)
	}
	if err := env.worker.Start(); err != nil {
		return nil, failed(fmt.Errorf("start the in-process worker: %w", err))
	}
	return env, nil
}

// devWorkerConfig uses the real endpoint when OPENAI_API_KEY is set, and
// leaves the key empty (for the simulator) otherwise.
func devWorkerConfig(o options) (workerhost.Config, error) {
	if os.Getenv(workerhost.EnvAPIKey) == "" {
		return workerhost.Config{}, nil
	}
	return workerhost.ConfigFromEnv(os.Getenv)
}

func (e *devEnv) describe() []string {
	lines := []string{"Endpoint:          " + e.endpoint, "Temporal:          " + e.address + " (local dev server)"}
	if e.uiURL != "" {
		lines = append(lines, "Temporal UI:       "+e.uiURL)
	}
	return lines
}

// linger keeps a dev server we started running while a person looks at the
// run in the UI: until Ctrl+C when the starter runs in a terminal, not at all
// otherwise.
func (e *devEnv) linger(ctx context.Context, stdout io.Writer, link string) {
	if e.server == nil || e.server.UIURL == "" || !interactive() {
		return
	}
	if e.worker != nil {
		e.worker.Stop()
		e.worker = nil
	}
	fmt.Fprintf(stdout, "\nThe dev server keeps running so you can browse the run's history:\n  %s\nPress Ctrl+C to stop it.\n", link)
	<-ctx.Done()
}

func (e *devEnv) close() {
	if e.worker != nil {
		e.worker.Stop()
	}
	if e.client != nil {
		e.client.Close()
	}
	if e.server != nil {
		e.server.Stop()
	}
	if e.sim != nil {
		e.sim.Close()
	}
}

func interactive() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
