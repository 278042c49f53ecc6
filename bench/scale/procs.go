package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/temporalenv"
)

// bench holds what every run shares: a folder with the binaries, the dev
// server and a client of it.
type bench struct {
	dir  string
	keep bool
	srv  *devserver.Server
	c    client.Client
	// workers are worker binaries started in turn instead of the
	// checkout's (-workers-from); started counts the workers started.
	workers []string
	started int
}

func setUp(ctx context.Context, keep bool, workers []string) (*bench, error) {
	b := &bench{keep: keep, workers: workers}
	if err := b.start(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) start(ctx context.Context) error {
	var err error
	if b.dir, err = os.MkdirTemp("", "llmconc-scale-*"); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", b.dir+string(filepath.Separator), "./worker", "./starter", "./cmd/simulator")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./worker ./starter ./cmd/simulator: %v\n%s", err, out)
	}
	if b.srv, err = devserver.Start(ctx, devserver.Options{UIPort: -1, Log: os.Stderr}); err != nil {
		return err
	}
	copts, err := temporalenv.Options(b.srv.Address, temporalenv.QuietLogger(os.Stderr))
	if err != nil {
		return err
	}
	b.c, err = temporalenv.Dial(ctx, copts, 10*time.Second)
	return err
}

func (b *bench) close() {
	if b.c != nil {
		b.c.Close()
	}
	if b.srv != nil {
		b.srv.Stop()
	}
	if b.dir != "" && !b.keep {
		os.RemoveAll(b.dir)
	}
	if b.keep {
		fmt.Printf("kept %s\n", b.dir)
	}
}

func (b *bench) bin(name string) string { return filepath.Join(b.dir, name) }

// proc is a child process: the simulator, a worker or a starter.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has ended
	err  error         // its exit, once done
	// lines receives each line of its output (stdout and stderr), which
	// also goes to its log file; dropped when nobody reads.
	lines chan string
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop interrupts the process and waits for it to end.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done
}

// spawn starts a process, its output to logFile.
func spawn(name string, args, env []string, logFile string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), lines: make(chan string, 16)}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer log.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(log, pr)
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		<-copied
		close(p.done)
	}()
	return p, nil
}

// startProc starts a process and waits for a line of its output that
// contains want, which it returns.
func startProc(name string, args, env []string, logFile, want string) (*proc, string, error) {
	p, err := spawn(name, args, env, logFile)
	if err != nil {
		return nil, "", err
	}
	timeout := time.After(time.Minute)
	for {
		select {
		case line := <-p.lines:
			if strings.Contains(line, want) {
				return p, line, nil
			}
		case <-p.done:
			return nil, "", fmt.Errorf("%s ended before it said %q (see %s)", filepath.Base(name), want, logFile)
		case <-timeout:
			p.stop()
			return nil, "", fmt.Errorf("%s did not say %q within a minute (see %s)", filepath.Base(name), want, logFile)
		}
	}
}

// startSimulator starts the simulator at latency and returns it with its
// base URL (…/v1).
func (b *bench) startSimulator(latency time.Duration) (*proc, string, error) {
	p, line, err := startProc(b.bin("simulator"), []string{"-addr", "127.0.0.1:0", "-latency", latency.String(), "-api-key", key},
		[]string{"PATH=" + os.Getenv("PATH")}, filepath.Join(b.dir, "simulator.log"), "serving")
	if err != nil {
		return nil, "", err
	}
	i := strings.Index(line, "http")
	if i < 0 {
		p.stop()
		return nil, "", fmt.Errorf("the simulator did not say where it serves: %q", line)
	}
	return p, strings.TrimSpace(line[i:]), nil
}

// startWorker starts a worker on the simulator at base and waits until it
// polls.
func (b *bench) startWorker(base string, n int) (*proc, error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "TEMPORAL_ADDRESS=" + b.srv.Address,
		"OPENAI_API_KEY=" + key, "OPENAI_BASE_URL=" + base}
	bin := b.bin("worker")
	if len(b.workers) > 0 {
		bin = b.workers[b.started%len(b.workers)]
		fmt.Printf("worker %s\n", bin)
	}
	b.started++
	p, _, err := startProc(bin, nil, env, filepath.Join(b.dir, fmt.Sprintf("worker-%d-%d.log", n, time.Now().UnixNano())), "Started Worker")
	return p, err
}

// starter starts the starter binary with args, in the bench's folder.
func (b *bench) starter(args []string, logFile string) (*proc, error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "TEMPORAL_ADDRESS=" + b.srv.Address}
	p, err := spawn(b.bin("starter"), args, env, logFile)
	return p, err
}

// procStatus holds what /proc says of a process.
type procStatus struct {
	hwmKiB  int64   // peak resident set (VmHWM)
	cpu     float64 // user + system time, seconds
	fds     int     // open files now
	maxFile int64   // its soft limit of open files
}

func readProc(pid int) (procStatus, error) {
	var s procStatus
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			s.hwmKiB, _ = strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		}
	}
	if s.cpu, err = cpuSeconds(pid); err != nil {
		return s, err
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.fds = len(ents)
	}
	if limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid)); err == nil {
		for _, line := range strings.Split(string(limits), "\n") {
			if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); len(f) > 0 && strings.HasPrefix(line, "Max open files") {
				s.maxFile, _ = strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return s, nil
}

// cpuSeconds is a process's user + system time so far, all its threads,
// from /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).
func cpuSeconds(pid int) (float64, error) {
	u, err := usageOf(pid)
	return u.cpu, err
}

// usage is what a process has spent so far: CPU seconds (user + system)
// and minor page faults (first touches of memory).
type usage struct {
	cpu    float64
	faults int64
}

func (u usage) minus(v usage) usage { return usage{u.cpu - v.cpu, u.faults - v.faults} }

// usageOf reads a process's usage from /proc/PID/stat: minflt (field 10),
// utime and stime (fields 14 and 15, in clock ticks of 1/100 s).
func usageOf(pid int) (usage, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return usage{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	minflt, err0 := strconv.ParseInt(f[7], 10, 64)
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err0 != nil || err1 != nil || err2 != nil {
		return usage{}, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return usage{cpu: float64(utime+stime) / 100, faults: minflt}, nil
}
