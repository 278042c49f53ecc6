package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// devEnv is the self-contained demo: a dev server that keeps its runs in a
// file under the user's cache folder, an in-process worker, and the
// simulator when no key is set.
type devEnv struct {
	address   string
	uiURL     string
	taskQueue string // the in-process worker's, once serve ran
	dbFile    string // the server's history, or "" (in memory)

	cfg    workerhost.Config
	server *devserver.Server
	sim    *simulator.Server
	client client.Client
	worker worker.Worker
}

// EnvDevPort sets the demo dev server's gRPC port: 0 for any free port (its
// UI then gets one too). Set, the demo always starts a server of its own.
const EnvDevPort = "LLMCONC_DEV_PORT"

// devPortFromEnv reads EnvDevPort: unset, the demo uses a server already on
// devPort (reuse), else starts one there or on a free port.
func devPortFromEnv() (port int, reuse bool, err error) {
	v := os.Getenv(EnvDevPort)
	if v == "" {
		return 0, true, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > 65535 {
		return 0, false, fmt.Errorf("%s must be a port number (0 for any free port), got %q", EnvDevPort, v)
	}
	return p, false, nil
}

// EnvDevDB overrides where -dev keeps its dev server's history.
const EnvDevDB = "LLMCONC_DEV_DB"

// devDBFile is the file in which -dev's dev server keeps its runs:
// $LLMCONC_DEV_DB, or llmconc/temporal-dev.db in the user's cache folder
// (os.UserCacheDir: ~/.cache on Linux, ~/Library/Caches on macOS).
func devDBFile() (string, error) {
	if p := os.Getenv(EnvDevDB); p != "" {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "llmconc", "temporal-dev.db"), nil
}

// devQueue is the task queue of a new demo run: one of its own, so that a
// worker of another demo on the same server never takes its tasks.
func devQueue() string { return workflows.TaskQueue + "-dev-" + randomHex(4) }

// isDevQueue reports whether q is the task queue of a demo run.
func isDevQueue(q string) bool { return strings.HasPrefix(q, workflows.TaskQueue+"-dev-") }

// startDev brings the demo's dev server (or the one already running on the
// usual port) and a client up; serve adds the worker.
func startDev(ctx context.Context, o options, human, stderr io.Writer) (env *devEnv, err error) {
	env = &devEnv{}
	started := env // the error returns below set env to nil
	defer func() {
		if err != nil {
			started.close()
		}
	}()

	cfg, err := devWorkerConfig(o)
	if err != nil {
		return nil, badInput("%v", err)
	}
	env.cfg = cfg
	if o.attach == "" && o.endpoint != "" && !slices.Contains(env.names(), strings.TrimSpace(o.endpoint)) {
		return nil, badInput("the -dev worker does not serve endpoint %q; it serves %s: choose one with -endpoint, or allow-list it in %s",
			strings.TrimSpace(o.endpoint), strings.Join(env.names(), ", "), workerhost.EnvEndpoints)
	}

	wantPort, reuse, err := devPortFromEnv()
	if err != nil {
		return nil, badInput("%v", err)
	}
	local := fmt.Sprintf("127.0.0.1:%d", devPort)
	if reuse && !devserver.PortFree(devPort) && devserver.Answers(ctx, local, client.DefaultNamespace) {
		if o.devFresh {
			return nil, badInput("-dev-fresh starts the demo's dev server with no runs, but a Temporal server already runs at %s: stop it first", local)
		}
		fmt.Fprintf(human, "Using the Temporal server already running at %s.\n", local)
		env.address = local
		if !devserver.PortFree(devUIPort) {
			env.uiURL = fmt.Sprintf("http://localhost:%d", devUIPort)
		}
	} else if err := env.startServer(ctx, wantPort, reuse, o.devFresh, human); err != nil {
		return nil, err
	}

	copts, err := temporalenv.Options(env.address, temporalenv.QuietLogger(stderr))
	if err != nil {
		return nil, badInput("%v", err)
	}
	if env.client, err = temporalenv.Dial(ctx, copts, 10*time.Second); err != nil {
		return nil, failed(err)
	}
	return env, nil
}

// startServer starts the demo's own dev server, keeping its runs in
// devDBFile (emptied first when fresh): on port (0: any free one), or, with
// reuse, on the usual ports when they are free.
func (e *devEnv) startServer(ctx context.Context, port int, reuse, fresh bool, human io.Writer) error {
	uiPort := 0
	if reuse {
		port = 0
		if devserver.PortFree(devPort) {
			port = devPort
		}
		if devserver.PortFree(devUIPort) {
			uiPort = devUIPort
		}
	}
	db, err := devDBFile()
	if err == nil {
		err = os.MkdirAll(filepath.Dir(db), 0o700)
	}
	switch {
	case err != nil:
		fmt.Fprintf(human, "(No cache folder for the demo's runs (%v): they last as long as the dev server.)\n", err)
		db = ""
	case fresh:
		if err := removeDB(db); err != nil {
			return badInput("-dev-fresh: %v", err)
		}
	}
	e.dbFile = db
	fmt.Fprintln(human, "Starting a local Temporal dev server…")
	srv, err := devserver.Start(ctx, devserver.Options{
		Port: port, UIPort: uiPort, DBFile: db, Log: human, SearchAttributes: workflows.SearchAttributeTypes,
		BuildProgressEvery: devserver.BuildProgressEvery(isTerminal(human)),
	})
	if err != nil {
		if db != "" && strings.Contains(err.Error(), "the Temporal dev server") {
			// A history file left by another version of the CLI, or
			// damaged, keeps the server from starting.
			err = fmt.Errorf("%w (the demo's runs are in %s: if that file is the trouble, -dev-fresh starts without it)", err, db)
		}
		return failed(err)
	}
	e.server, e.address, e.uiURL = srv, srv.Address, srv.UIURL
	return nil
}

// removeDB removes the dev server's database file and SQLite's companions.
func removeDB(db string) error {
	for _, p := range []string{db, db + "-wal", db + "-shm", db + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// names are the endpoints the demo's worker serves.
func (e *devEnv) names() []string {
	cfg := e.cfg
	if cfg.APIKey == "" {
		cfg.APIKey = "the simulator's" // serve puts the simulator there
	}
	return cfg.Names()
}

// serve starts the in-process worker on taskQueue, with the simulator in
// front of the default endpoint when no key is set.
func (e *devEnv) serve(model, taskQueue string) error {
	cfg := e.cfg
	if cfg.APIKey == "" {
		// 1-2 s to the first token, then 50 tokens 20 ms apart: 2-3 s per
		// request, streamed or not.
		e.sim = simulator.New(simulator.Config{
			Latency:  time.Second,
			Jitter:   time.Second,
			PerToken: 20 * time.Millisecond,
			APIKey:   "sim-" + randomHex(8),
			Models:   append(simulator.DefaultModels(), strings.Split(model, ",")...), // a comparison's models, comma-separated
			Seed:     1,
		})
		base, err := e.sim.Start("127.0.0.1:0")
		if err != nil {
			return failed(fmt.Errorf("start the simulator: %w", err))
		}
		cfg.APIKey, cfg.BaseURL = e.sim.Config().APIKey, base
		cfg.Label = "built-in simulator, 2-3 s per request; no OPENAI_API_KEY set"
	}
	cfg.TaskQueue = taskQueue
	e.taskQueue = taskQueue
	workerhost.TuneRuntime(os.Getenv)
	var err error
	if e.worker, err = workerhost.New(e.client, cfg); err != nil {
		return badInput("%v", err)
	}
	if err := e.worker.Start(); err != nil {
		e.worker = nil
		return failed(fmt.Errorf("start the in-process worker: %w", err))
	}
	return nil
}

// devWorkerConfig uses the worker's configuration (OPENAI_API_KEY,
// OPENAI_BASE_URL, LLMCONC_ENDPOINTS) when any of it is set, and leaves the
// default endpoint's key empty (for the simulator) when OPENAI_API_KEY is not.
func devWorkerConfig(o options) (workerhost.Config, error) {
	if os.Getenv(workerhost.EnvAPIKey) == "" && os.Getenv(workerhost.EnvEndpoints) == "" {
		return workerhost.Config{}, nil
	}
	return workerhost.ConfigFromEnv(os.Getenv)
}

func (e *devEnv) describe() []string {
	where := " (local dev server)"
	if e.dbFile != "" {
		where = " (local dev server; runs kept in " + e.dbFile + ")"
	}
	lines := []string{"Temporal:          " + e.address + where}
	if e.uiURL != "" {
		lines = append(lines, "Temporal UI:       "+e.uiURL)
	}
	return lines
}

// linger keeps a dev server we started running while a person looks at the
// run in the UI: until Ctrl+C when the starter runs in a terminal, not at all
// otherwise.
func (e *devEnv) linger(ctx context.Context, human io.Writer, link string) {
	if e.server == nil || e.server.UIURL == "" || !interactive() {
		return
	}
	if e.worker != nil {
		e.worker.Stop()
		e.worker = nil
	}
	fmt.Fprintf(human, "\nThe dev server keeps running so you can browse the run's history:\n  %s\nPress Ctrl+C to stop it.\n", link)
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
