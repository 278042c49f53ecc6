// Package devserver runs a local Temporal development server through the
// official Temporal CLI (`temporal server start-dev`), installing the CLI with
// `go install` when it is missing. The demo and the end-to-end tests use it.
package devserver

import (
	"bytes"
	"context"
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

// FindCLI looks for the temporal binary on PATH, then in GOBIN and GOPATH/bin.
func FindCLI() (string, bool) {
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, true
	}
	for _, dir := range goBinDirs() {
		p := filepath.Join(dir, "temporal")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

func goBinDirs() []string {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var dirs []string
	if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
		dirs = append(dirs, strings.TrimSpace(lines[0]))
	}
	if len(lines) > 1 {
		for _, p := range filepath.SplitList(strings.TrimSpace(lines[1])) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// EnsureCLI returns the path of the temporal binary, building it with
// `go install` when it is missing. It tells log what it does, since the first
// build takes minutes.
func EnsureCLI(ctx context.Context, log io.Writer) (string, error) {
	if p, ok := FindCLI(); ok {
		return p, nil
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", errors.New("the Temporal CLI is not installed and Go is not on PATH to build it: install it from https://docs.temporal.io/cli")
	}
	fmt.Fprintf(log, "The Temporal CLI is not installed: building it with `go install %s`.\n", CLIPackage)
	fmt.Fprintln(log, "The first build takes several minutes; later runs reuse it.")
	cmd := exec.CommandContext(ctx, "go", "install", CLIPackage)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s failed: %v: %s", CLIPackage, err, lastLines(out.String(), 5))
	}
	if p, ok := FindCLI(); ok {
		return p, nil
	}
	return "", fmt.Errorf("go install %s succeeded but no temporal binary is in GOBIN or GOPATH/bin", CLIPackage)
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
		if cli, err = EnsureCLI(ctx, opts.Log); err != nil {
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
