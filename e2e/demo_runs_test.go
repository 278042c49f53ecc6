package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/simulator"
)

// TestDemoKeepsItsRuns: the demo's runs outlive it. After `starter -dev`,
// `starter -dev list`, `-dev result`, `-dev rerun` and `-dev -attach` find
// the run in the demo's history file (under the user's cache folder); a
// rerun of a demo run without -dev, on a server that has the run but no
// worker on its queue, is refused at once and says how to serve it; and
// -dev-fresh starts empty.
func TestDemoKeepsItsRuns(t *testing.T) {
	home := t.TempDir()
	env := demoEnv(home)
	run := func(t *testing.T, args ...string) *proc {
		t.Helper()
		p := startProc(t, "starter "+strings.Join(args, " "), starterBin, env, args...)
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("starter %s exited %d\n%s", strings.Join(args, " "), code, p.output())
		}
		return p
	}
	dir := t.TempDir()
	id := "e2e-demo-" + randHex(4)
	run(t, "-dev", "-requests", "2", "-max-tokens", "8", "-id", id, "-out", filepath.Join(dir, "first.json"))
	db := filepath.Join(home, ".cache", "llmconc", "temporal-dev.db")
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the demo's history file: %v", err)
	}

	if p := run(t, "-dev", "list"); !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+completed\s+default\s+`).MatchString(p.stdout.String()) {
		t.Errorf("starter -dev list lacks the demo run %s:\n%s", id, p.output())
	}

	p := run(t, "-dev", "result", id)
	named := filepath.Join(p.cmd.Dir, "test_results_"+id+".json")
	_, d := readDoc(t, named)
	checkCompleted(t, d, id, 2)
	if _, err := os.Stat(strings.TrimSuffix(named, ".json") + ".html"); err != nil {
		t.Errorf("starter -dev result wrote no HTML named after the run: %v", err)
	}

	out := filepath.Join(dir, "rerun.json")
	run(t, "-dev", "rerun", "-out", out, id)
	_, again := readDoc(t, out)
	checkCompleted(t, again, again.WorkflowID, 2)

	out = filepath.Join(dir, "attach.json")
	run(t, "-dev", "-attach", id, "-out", out)
	_, att := readDoc(t, out)
	checkCompleted(t, att, id, 2)

	// The demo's history, served by a dev server with no worker on the
	// run's queue: a rerun is refused at once, naming the queue and the
	// command that serves it.
	srv, err := devserver.Start(context.Background(), devserver.Options{UIPort: -1, DBFile: db})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p = startProc(t, "starter rerun", starterBin, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TEMPORAL_ADDRESS=" + srv.Address}, "rerun", "-out", filepath.Join(dir, "refused.json"), id)
	code := p.wait(t, time.Minute)
	took := time.Since(start)
	srv.Stop()
	errLines := lines(p.stderr.String())
	if code != 2 || len(errLines) != 1 || !strings.Contains(errLines[0], "llm-concurrency-test-dev-") || !strings.Contains(errLines[0], "starter -dev rerun "+id) {
		t.Errorf("rerun of a demo run without its worker: exit %d, stderr %q; want 2 and one line naming the queue and `starter -dev rerun %s`", code, p.stderr.String(), id)
	}
	if took > 8*time.Second {
		t.Errorf("the refusal took %s; want it at once (no wait for a worker)", took.Round(time.Second))
	}

	run(t, "-dev", "-dev-fresh", "-requests", "1", "-passes", "sequential", "-out", filepath.Join(dir, "fresh.json"))
	if p := run(t, "-dev", "list"); strings.Contains(p.stdout.String(), id) {
		t.Errorf("after -dev-fresh, starter -dev list still shows %s:\n%s", id, p.stdout.String())
	}
}

// lineProc is a binary whose stdout is read line by line as it comes.
type lineProc struct {
	*exec.Cmd
	stderr bytes.Buffer // read only after Wait
	mu     sync.Mutex
	lines  []string
	seen   chan string
}

func startLines(t *testing.T, bin string, env []string, args ...string) *lineProc {
	t.Helper()
	p := &lineProc{Cmd: exec.Command(bin, args...), seen: make(chan string, 256)}
	p.Env, p.Dir = env, t.TempDir()
	p.Stderr = &p.stderr
	r, err := p.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.seen <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, r)
		close(p.seen)
	}()
	t.Cleanup(func() {
		_ = p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	})
	return p
}

func (p *lineProc) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// TestWaitingForAWorkerIsVisible: a run started just after the only worker
// of its task queue stopped says within 5 s that it waits for a worker, and
// how to start one on that queue. The worker and the starter use a task
// queue of their own, by -task-queue and LLMCONC_TASK_QUEUE.
func TestWaitingForAWorkerIsVisible(t *testing.T) {
	queue := "e2e-queue-" + randHex(4)
	sim := simulator.New(simulator.Config{Latency: 50 * time.Millisecond, Seed: 1, APIKey: "e2e-key-" + randHex(8)})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	// The worker takes its queue from LLMCONC_TASK_QUEUE; a first run on it
	// completes.
	w := startProc(t, "worker", workerBin, binEnv("OPENAI_API_KEY="+sim.Config().APIKey, "OPENAI_BASE_URL="+base, "LLMCONC_TASK_QUEUE="+queue))
	runToJSON(t, "-requests", "1", "-passes", "sequential", "-task-queue", queue)
	if code := w.stop(t); code != 0 {
		t.Fatalf("the worker exited %d\n%s", code, w.output())
	}
	if !strings.Contains(w.stderr.String(), `polling task queue "`+queue+`"`) {
		t.Errorf("the worker does not say it polls %s:\n%s", queue, w.output())
	}

	id := "e2e-noworker-" + randHex(4)
	start := time.Now()
	p := startLines(t, starterBin, binEnv(), "-requests", "1", "-passes", "sequential", "-task-queue", queue, "-id", id, "-out", filepath.Join(t.TempDir(), "r.json"))
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), id, "", "test over") })
	deadline := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-p.seen:
			if !ok {
				t.Fatalf("the starter ended without the hint:\n%s", p.text())
			}
			if strings.Contains(l, "Waiting for a worker") {
				if !strings.Contains(l, queue) || !strings.Contains(l, "go run ./worker -task-queue "+queue) {
					t.Errorf("hint %q: want the queue and how to start a worker on it", l)
				}
				t.Logf("hint after %s", time.Since(start).Round(100*time.Millisecond))
				return
			}
		case <-deadline:
			t.Fatalf("no \"Waiting for a worker\" line within 5 s:\n%s", p.text())
		}
	}
}

// TestDemoRunInterruptedAndResumed: Ctrl+C during a demo run stops the demo
// (its dev server, its worker) and says how to resume; `starter -dev
// -attach ID` brings the demo's server back on its history, serves the
// run's task queue again, and the run completes with every request.
func TestDemoRunInterruptedAndResumed(t *testing.T) {
	env := demoEnv(t.TempDir())
	id := "e2e-demo-resume-" + randHex(4)
	p := startLines(t, starterBin, env, "-dev", "-requests", "4", "-max-tokens", "8", "-id", id, "-out", filepath.Join(t.TempDir(), "first.json"))
	for l := range p.seen {
		if strings.Contains(l, "Request #0") {
			break
		}
	}
	if err := p.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for range p.seen { // the rest of stdout, until it closes
	}
	err := p.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("interrupted demo: %v, want exit 1\n%s\n%s", err, p.text(), p.stderr.String())
	}
	if want := "resume it with `starter -dev -attach " + id + "`"; !strings.Contains(p.stderr.String(), want) {
		t.Errorf("the interrupted demo does not say %q:\n%s", want, p.stderr.String())
	}

	out := filepath.Join(t.TempDir(), "resumed.json")
	r := startProc(t, "starter -dev -attach", starterBin, env, "-dev", "-attach", id, "-out", out)
	if code := r.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("starter -dev -attach %s exited %d\n%s", id, code, r.output())
	}
	_, d := readDoc(t, out)
	checkCompleted(t, d, id, 4)
}
