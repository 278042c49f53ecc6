package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/workflows"
)

// Package state, set up once by TestMain.
var (
	repoRoot   string        // the module's root folder
	workerBin  string        // the worker binary, built by TestMain
	simBin     string        // the simulator binary, built by TestMain
	starterBin string        // the starter binary, built by TestMain
	homeDir    string        // HOME of the binaries: no Temporal config file there
	devAddr    string        // the dev server's gRPC address
	devUIURL   string        // the dev server's Web UI
	tc         client.Client // a client of the dev server for the tests' own checks
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	tmp, err := os.MkdirTemp("", "llmconc-e2e-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binDir := filepath.Join(tmp, "bin")
	homeDir = filepath.Join(tmp, "home")
	for _, d := range []string{binDir, homeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	workerBin, starterBin = filepath.Join(binDir, "worker"), filepath.Join(binDir, "starter")
	simBin = filepath.Join(binDir, "simulator")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Build the binaries while the dev server starts.
	built := make(chan error, 1)
	go func() {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", binDir+string(filepath.Separator), "./worker", "./starter", "./cmd/simulator")
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("go build ./worker ./starter ./cmd/simulator: %v\n%s", err, out)
		}
		built <- err
	}()

	srv, err := devserver.Start(ctx, devserver.Options{Log: os.Stderr, SearchAttributes: workflows.SearchAttributeTypes})
	if err != nil {
		<-built
		fmt.Fprintln(os.Stderr, "e2e: start the Temporal dev server:", err)
		return 1
	}
	defer srv.Stop()
	devAddr, devUIURL = srv.Address, srv.UIURL

	if err := <-built; err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}

	c, err := client.DialContext(ctx, client.Options{
		HostPort:  devAddr,
		Namespace: client.DefaultNamespace,
		Logger:    temporalenv.QuietLogger(os.Stderr),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: dial the dev server:", err)
		return 1
	}
	defer c.Close()
	tc = c

	return m.Run()
}

// binEnv is the whole environment of a binary: Temporal is the dev server,
// HOME holds no Temporal config file, and nothing else leaks in from the
// environment of the test.
func binEnv(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + homeDir,
		"TEMPORAL_ADDRESS=" + devAddr,
		"TEMPORAL_NAMESPACE=default",
	}
	return append(env, extra...)
}

// demoEnv is the whole environment of a user's `starter -dev`: PATH, a
// HOME of its own (a cache folder of its own, so a demo history of its
// own), a dev server of its own on free ports (LLMCONC_DEV_PORT=0), and
// the user's GOBIN and GOPATH, which a fresh HOME would otherwise move:
// the starter finds the Temporal CLI where the user's `go install` put it,
// in GOPATH/bin, also when that folder is not on PATH.
func demoEnv(home string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LLMCONC_DEV_PORT=0"}
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return env
	}
	vars := strings.SplitN(strings.TrimRight(string(out), "\n"), "\n", 2)
	for i, name := range []string{"GOBIN", "GOPATH"} {
		if i < len(vars) && vars[i] != "" {
			env = append(env, name+"="+vars[i])
		}
	}
	return env
}

// randHex returns 2n random hex digits.
func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// proc is a binary started by a test. Its output may be read only once it has
// exited (after wait or stop).
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
}

// startProc starts bin with env and args; the test's cleanup stops it.
func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Dir = t.TempDir()
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.signalAndWait(15 * time.Second)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signalAndWait interrupts the process and waits for it, killing it after
// grace. It reports whether it exited on the interrupt.
func (p *proc) signalAndWait(grace time.Duration) bool {
	_ = p.cmd.Process.Signal(os.Interrupt)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// wait waits for the process to exit on its own and returns its exit code. It
// kills it and fails the test after timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not exit within %s\n%s", p.name, timeout, p.output())
		return -1
	}
}

// stop interrupts the process as Ctrl+C would and returns its exit code; the
// test fails if it does not exit within 15 s.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	if !p.exited() && !p.signalAndWait(15*time.Second) {
		t.Errorf("%s did not exit within 15s of SIGINT; killed\n%s", p.name, p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

// output is the process's stdout and stderr, for failure messages. Only
// after exit.
func (p *proc) output() string {
	return fmt.Sprintf("--- %s stdout:\n%s--- %s stderr:\n%s", p.name, p.stdout.String(), p.name, p.stderr.String())
}

// startWorker starts the worker binary against an endpoint. A test that uses
// it must not run in parallel with another one that does: the worker's task
// queue is fixed.
func startWorker(t *testing.T, apiKey, baseURL string) *proc {
	t.Helper()
	return startProc(t, "worker", workerBin, binEnv("OPENAI_API_KEY="+apiKey, "OPENAI_BASE_URL="+baseURL))
}

// runStarter runs the starter binary to its end and returns it, exited.
func runStarter(t *testing.T, timeout time.Duration, args ...string) (*proc, int) {
	t.Helper()
	p := startProc(t, "starter", starterBin, binEnv(), args...)
	code := p.wait(t, timeout)
	return p, code
}

// resultDoc is the result JSON as its documented field names give it: the
// test reads the file the way a script would, not through package report.
type resultDoc struct {
	SchemaVersion int    `json:"schema_version"`
	WorkflowID    string `json:"workflow_id"`
	RunID         string `json:"run_id"`
	Config        struct {
		Requests    int    `json:"requests"`
		Model       string `json:"model"`
		Concurrency int    `json:"concurrency"`
		Endpoint    string `json:"endpoint"`
	} `json:"config"`
	Sequential *passDoc `json:"sequential"`
	Concurrent *passDoc `json:"concurrent"`
	// Warmup holds the warm-up requests (-warmup, 1 by default).
	Warmup     *passDoc `json:"warmup"`
	Comparison *struct {
		SequentialSeconds    float64 `json:"sequential_seconds"`
		ConcurrentSeconds    float64 `json:"concurrent_seconds"`
		Speedup              float64 `json:"speedup"`
		EffectiveParallelism float64 `json:"effective_parallelism"`
	} `json:"comparison"`
	Conclusion struct {
		Verdict string `json:"verdict"`
		Text    string `json:"text"`
	} `json:"conclusion"`
	Error string `json:"error"`
}

type passDoc struct {
	TotalSeconds          float64     `json:"total_seconds"`
	Successful            int         `json:"successful"`
	Failed                int         `json:"failed"`
	AverageLatencySeconds float64     `json:"average_latency_seconds"`
	MaxInFlight           int         `json:"max_in_flight"`
	Requests              []recordDoc `json:"requests"`
}

type recordDoc struct {
	Index          int     `json:"index"`
	Pass           string  `json:"pass"`
	Prompt         string  `json:"prompt"`
	SentAt         string  `json:"sent_at"`
	ReceivedAt     string  `json:"received_at"`
	OK             bool    `json:"ok"`
	HTTPStatus     int     `json:"http_status"`
	Error          string  `json:"error"`
	Attempt        int     `json:"attempt"`
	LatencySeconds float64 `json:"latency_seconds"`
	Response       string  `json:"response"`
}

// readDoc reads a result file: its bytes and its decoded document.
func readDoc(t *testing.T, path string) ([]byte, resultDoc) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the result JSON: %v", err)
	}
	return decodeDoc(t, b)
}

// decodeDoc decodes a result document.
func decodeDoc(t *testing.T, b []byte) ([]byte, resultDoc) {
	t.Helper()
	var d resultDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode the result JSON: %v\n%s", err, b)
	}
	return b, d
}

// checkCompleted checks a completed run's document: the schema, the run's
// identity, and both passes with n successful records each, by index, with
// the same prompt for an index in both passes.
func checkCompleted(t *testing.T, d resultDoc, id string, n int) {
	t.Helper()
	if d.SchemaVersion != 1 {
		t.Errorf("schema_version = %d, want 1", d.SchemaVersion)
	}
	if d.WorkflowID != id {
		t.Errorf("workflow_id = %q, want %q", d.WorkflowID, id)
	}
	if d.RunID == "" {
		t.Error("run_id is empty")
	}
	if d.Error != "" {
		t.Errorf("error = %q, want none", d.Error)
	}
	if d.Comparison == nil {
		t.Error("comparison is null though both passes ran")
	}
	prompts := map[int]string{}
	for _, p := range []struct {
		name string
		pass *passDoc
	}{{"sequential", d.Sequential}, {"concurrent", d.Concurrent}} {
		if p.pass == nil {
			t.Errorf("%s pass missing", p.name)
			continue
		}
		if len(p.pass.Requests) != n {
			t.Errorf("%s pass has %d records, want %d", p.name, len(p.pass.Requests), n)
		}
		if p.pass.Successful != n || p.pass.Failed != 0 {
			t.Errorf("%s pass: %d successful, %d failed; want %d, 0", p.name, p.pass.Successful, p.pass.Failed, n)
		}
		for i, r := range p.pass.Requests {
			where := fmt.Sprintf("%s request %d", p.name, r.Index)
			if r.Index != i {
				t.Errorf("%s pass: record %d has index %d, want records by index", p.name, i, r.Index)
			}
			if r.HTTPStatus != 200 || !r.OK || r.Error != "" {
				t.Errorf("%s: http_status %d ok %v error %q, want 200", where, r.HTTPStatus, r.OK, r.Error)
			}
			if r.Pass != p.name {
				t.Errorf("%s says pass %q", where, r.Pass)
			}
			if r.Attempt != 1 {
				t.Errorf("%s: attempt %d, want 1", where, r.Attempt)
			}
			if r.Prompt == "" || r.Response == "" {
				t.Errorf("%s: prompt %q, response %q; want both", where, r.Prompt, r.Response)
			}
			if want, ok := prompts[r.Index]; ok && want != r.Prompt {
				t.Errorf("%s: prompt %q, but the other pass sent %q for this index", where, r.Prompt, want)
			}
			prompts[r.Index] = r.Prompt
			sent, err1 := time.Parse(time.RFC3339Nano, r.SentAt)
			recv, err2 := time.Parse(time.RFC3339Nano, r.ReceivedAt)
			if err1 != nil || err2 != nil || recv.Before(sent) || r.LatencySeconds <= 0 {
				t.Errorf("%s: sent_at %q, received_at %q, latency %v: want RFC 3339 times in order and a positive latency", where, r.SentAt, r.ReceivedAt, r.LatencySeconds)
			}
		}
	}
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// simulatedEndpoint starts a simulator with cfg, under a fresh key, and the
// worker binary in front of it, and returns both; the test's cleanup stops
// them.
func simulatedEndpoint(t *testing.T, cfg simulator.Config) (*simulator.Server, *proc) {
	t.Helper()
	cfg.APIKey = "e2e-key-" + randHex(8)
	sim := simulator.New(cfg)
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, startWorker(t, cfg.APIKey, base)
}

// runToJSON runs the starter with args, writing its JSON to a fresh file,
// requires exit 0, and returns the starter, exited, and the file's bytes.
func runToJSON(t *testing.T, args ...string) (*proc, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "result.json")
	p, code := runStarter(t, 3*time.Minute, append(args, "-out", out)...)
	if code != 0 {
		t.Fatalf("starter exited %d\n%s", code, p.output())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return p, raw
}
