// Package devserver runs a local Temporal development server through the
// official Temporal CLI (`temporal server start-dev`), installing the CLI with
// `go install` when it is missing. The demo and the end-to-end tests use it.
package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/temporalenv"
)

// CLIPackage is the Temporal CLI version the tool is tested with (server
// 1.29.1, UI 2.42.1).
const CLIPackage = "github.com/temporalio/cli/cmd/temporal@v1.5.1"

// EnvCLI names a temporal binary to use instead of looking for one: for a
// CLI installed any other way (Temporal's installer, Homebrew, a download).
const EnvCLI = "TEMPORAL_CLI"

// FindCLI looks for the temporal binary: $TEMPORAL_CLI when it is set, else
// on PATH, then in GOBIN and in each GOPATH's bin (where `go install` puts it
// on a default Go install, which does not put that folder on PATH).
func FindCLI() (string, bool) {
	p, err := findCLI(os.Getenv)
	return p, err == nil && p != ""
}

// findCLI is FindCLI with an error for a TEMPORAL_CLI that is not a usable
// binary; without TEMPORAL_CLI and without a CLI it returns "", nil.
func findCLI(getenv func(string) string) (string, error) {
	if p := getenv(EnvCLI); p != "" {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			return "", fmt.Errorf("%s=%s: %w", EnvCLI, p, errors.Unwrap(err))
		case st.IsDir() || st.Mode().Perm()&0o111 == 0:
			return "", fmt.Errorf("%s=%s is not an executable file: point it at the temporal binary", EnvCLI, p)
		}
		return p, nil
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	for _, dir := range goBinDirs() {
		p := filepath.Join(dir, "temporal")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", nil
}

// goBinDirs are the folders `go install` puts binaries in: GOBIN when it is
// set, else the bin folder of GOPATH's first entry (and, to find a CLI
// installed earlier, of its other entries). It asks `go env -json`, whose
// answer keeps an empty GOBIN apart from GOPATH.
func goBinDirs() []string {
	out, err := exec.Command("go", "env", "-json", "GOBIN", "GOPATH").Output()
	if err != nil {
		return nil
	}
	return parseGoEnv(out)
}

func parseGoEnv(out []byte) []string {
	var env struct{ GOBIN, GOPATH string }
	if err := json.Unmarshal(out, &env); err != nil {
		return nil
	}
	var dirs []string
	if env.GOBIN != "" {
		dirs = append(dirs, env.GOBIN)
	}
	for _, p := range filepath.SplitList(env.GOPATH) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// BuildProgressEvery is how often EnsureCLI says how long the build has run:
// every few seconds on a terminal, every 30 s otherwise (a log).
func BuildProgressEvery(terminal bool) time.Duration {
	if terminal {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// EnsureCLI returns the path of the temporal binary, building it with
// `go install` when it is missing. It tells log what it does, and how long
// the build has run every progressEvery (0: every 30 s), since the first
// build takes minutes.
func EnsureCLI(ctx context.Context, log io.Writer, progressEvery time.Duration) (string, error) {
	p, err := findCLI(os.Getenv)
	if err != nil {
		return "", err
	}
	if p != "" {
		return p, nil
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", fmt.Errorf("the Temporal CLI is not installed and Go is not on PATH to build it: install it from https://docs.temporal.io/cli and set %s to its path if it is not on PATH", EnvCLI)
	}
	fmt.Fprintf(log, "The Temporal CLI is not installed: building it with `go install %s`.\n", CLIPackage)
	fmt.Fprintf(log, "The first build takes several minutes; later runs reuse it. (To skip the build, install the CLI another way, https://docs.temporal.io/cli, and put it on PATH or set %s=/path/to/temporal.)\n", EnvCLI)
	if progressEvery <= 0 {
		progressEvery = BuildProgressEvery(false)
	}
	cmd := installCommand(ctx)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stop := showProgress(log, progressEvery, time.Now())
	err = cmd.Run()
	stop()
	if err != nil {
		return "", fmt.Errorf("go install %s failed: %v: %s", CLIPackage, err, lastLines(out.String(), 5))
	}
	dirs := goBinDirs()
	if p, err := findCLI(os.Getenv); err == nil && p != "" {
		fmt.Fprintf(log, "Built the Temporal CLI: %s\n", p)
		return p, nil
	}
	return "", fmt.Errorf("go install %s succeeded but no temporal binary is in %s: set %s to its path", CLIPackage, strings.Join(dirs, " or "), EnvCLI)
}

// installCommand builds the CLI; tests replace it.
var installCommand = func(ctx context.Context) *exec.Cmd {
	return exec.CommandContext(ctx, "go", "install", CLIPackage)
}

// showProgress writes "still building (1m05s)…" to log every interval from
// start until the returned stop is called; stop waits for the last line.
func showProgress(log io.Writer, every time.Duration, start time.Time) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				fmt.Fprintf(log, "  still building the Temporal CLI (%s elapsed)…\n", now.Sub(start).Round(time.Second))
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// DynamicConfig is the server configuration the tool relies on. Eager
// activity execution hands an activity scheduled by a workflow task straight
// back to the worker that completed it: without it, each step of the
// sequential pass waits for the server's task matching, which on the dev
// server costs about 40 ms per activity and as much per workflow task once
// a run has done a few steps (about 90 ms between one response and the next
// send, against about 5 ms with it). docker-compose.yml sets the same.
var DynamicConfig = []string{"system.enableActivityEagerExecution=true"}

// Options configures a dev server.
type Options struct {
	// CLI is the temporal binary; empty means EnsureCLI.
	CLI string
	// Port is the gRPC port; 0 picks a free one.
	Port int
	// UIPort is the Web UI's port; 0 picks a free one, -1 turns the UI off.
	UIPort int
	// UICodecEndpoint, if set, is the codec server (see package codec) that
	// the Web UI asks to decode payloads, from the browser.
	UICodecEndpoint string
	// DBFile keeps the server's state in a SQLite file across restarts;
	// empty keeps it in memory.
	DBFile string
	// Namespace defaults to "default".
	Namespace string
	// SearchAttributes are registered at start, name to type (Keyword, Int…).
	SearchAttributes map[string]string
	// Log receives the CLI's install messages; nil discards them.
	Log io.Writer
	// BuildProgressEvery is how often a build of the CLI says how long it
	// has run (see BuildProgressEvery); 0 means every 30 s.
	BuildProgressEvery time.Duration
	// Env is the server process's whole environment; nil means ServerEnv of
	// this process's (which holds no keys).
	Env []string
	// ServerLog receives the server's own output; nil keeps the last lines
	// for error messages only.
	ServerLog io.Writer
	// ReadyTimeout bounds the wait for the server; 0 means one minute.
	ReadyTimeout time.Duration
}

// Server is a running dev server.
type Server struct {
	// Address is the gRPC host:port.
	Address string
	// UIURL is the Web UI's base URL, or empty.
	UIURL     string
	Namespace string

	cli  string
	args []string
	opts Options
	tail *tailBuffer

	mu   sync.Mutex
	proc *process
}

// process is one run of the server's process: a restart makes another.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

// Start starts a dev server and waits until it answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = time.Minute
	}
	cli := opts.CLI
	if cli == "" {
		var err error
		if cli, err = EnsureCLI(ctx, opts.Log, opts.BuildProgressEvery); err != nil {
			return nil, err
		}
	}
	port, err := portOrFree(opts.Port)
	if err != nil {
		return nil, err
	}
	s := &Server{Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Namespace: opts.Namespace, cli: cli, opts: opts, tail: &tailBuffer{}}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--namespace", opts.Namespace, "--log-level", "warn", "--log-format", "pretty"}
	for _, kv := range DynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	if opts.UIPort < 0 {
		args = append(args, "--headless")
	} else {
		uiPort, err := portOrFree(opts.UIPort)
		if err != nil {
			return nil, err
		}
		args = append(args, "--ui-port", strconv.Itoa(uiPort))
		if opts.UICodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", opts.UICodecEndpoint)
		}
		s.UIURL = "http://127.0.0.1:" + strconv.Itoa(uiPort)
	}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	for name, typ := range opts.SearchAttributes {
		args = append(args, "--search-attribute", name+"="+typ)
	}
	s.args = args
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// launch starts the server's process with the server's arguments and waits
// until it answers.
func (s *Server) launch(ctx context.Context) error {
	p := &process{cmd: exec.Command(s.cli, s.args...), exited: make(chan struct{})}
	setProcessAttributes(p.cmd)
	p.cmd.Env = s.opts.Env
	if p.cmd.Env == nil {
		p.cmd.Env = ServerEnv(os.Environ())
	}
	var out io.Writer = s.tail
	if s.opts.ServerLog != nil {
		out = io.MultiWriter(s.tail, s.opts.ServerLog)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start the Temporal dev server (%s): %w", s.cli, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(ctx, p, s.opts.ReadyTimeout); err != nil {
		p.stop()
		return err
	}
	return nil
}

// waitReady polls the server's health until it answers, the process exits, or
// the timeout passes.
func (s *Server) waitReady(ctx context.Context, p *process, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if Answers(ctx, s.Address, s.Namespace) {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("the Temporal dev server exited at start (%v): %s", p.waitErr, lastLines(s.tail.String(), 5))
		case <-ctx.Done():
			return fmt.Errorf("the Temporal dev server did not answer at %s within %s: %s", s.Address, timeout, lastLines(s.tail.String(), 5))
		case <-tick.C:
		}
	}
}

// Answers reports whether a Temporal server answers at address.
func Answers(ctx context.Context, address, namespace string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: address, Namespace: namespace, Logger: temporalenv.QuietLogger(io.Discard)})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// Stop stops the server gracefully (SIGINT), then kills it after 10 s.
func (s *Server) Stop() { s.current().stop() }

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() { s.current().kill() }

// Restart stops the server, gracefully or, with crash, at once (SIGKILL),
// then starts it again with the same options, on the same ports, and waits
// until it answers. The server's state survives only in a DBFile: without
// one, Restart refuses.
func (s *Server) Restart(ctx context.Context, crash bool) error {
	if s.opts.DBFile == "" {
		return errors.New("restart the Temporal dev server: it keeps its state in memory (no DBFile), so a restart would lose it")
	}
	if crash {
		s.Kill()
	} else {
		s.Stop()
	}
	return s.launch(ctx)
}

func (p *process) stop() {
	p.once.Do(func() {
		_ = interrupt(p.cmd)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

func (p *process) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
}

// WorkflowURL links to a run in the Web UI, or is empty without a UI.
func (s *Server) WorkflowURL(workflowID, runID string) string {
	return WorkflowURL(s.UIURL, s.Namespace, workflowID, runID)
}

// WorkflowURL links to a run in a Temporal Web UI at base.
func WorkflowURL(base, namespace, workflowID, runID string) string {
	if base == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(base, "/"), namespace, workflowID, runID)
}

func portOrFree(p int) (int, error) {
	if p > 0 {
		return p, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// PortFree reports whether nothing listens on 127.0.0.1:port.
func PortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// tailBuffer keeps the last 16 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 16<<10; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// serverEnvKeep are the variables the dev server's process gets: what a
// process needs to find its files, temporary folder, locale and time zone.
// Nothing else passes, so API keys (OPENAI_API_KEY, the key variables of
// LLMCONC_ENDPOINTS), LLMCONC_CODEC_KEY and Temporal credentials never reach
// the server, which needs none of them.
var serverEnvKeep = []string{"PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "SYSTEMROOT", "TEMP", "TMP", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"}

// ServerEnv is the part of environ the dev server's process gets (see
// serverEnvKeep).
func ServerEnv(environ []string) []string {
	env := []string{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		for _, keep := range serverEnvKeep {
			if name == keep {
				env = append(env, kv)
				break
			}
		}
	}
	return env
}

// PID is the server's process ID (of its current process, after a restart).
func (s *Server) PID() int { return s.current().cmd.Process.Pid }
