package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/prompts"
)

// cpuSample is one run: what a fresh worker spent on its first pass of N
// and on its next pass of N, and what hey spent on the same N requests.
type cpuSample struct{ first, next, hey usage }

func (s cpuSample) firstRatio() float64 { return s.first.cpu / s.hey.cpu }
func (s cpuSample) nextRatio() float64  { return s.next.cpu / s.hey.cpu }

// cpuRuns compares, runs times per N, the worker's CPU time for a
// concurrent pass of N requests with hey's for the same N requests.
func (b *bench) cpuRuns(ctx context.Context, counts []int, runs, maxTokens int) error {
	hey, err := findHey(ctx)
	if err != nil {
		return err
	}
	prompt := prompts.BuiltIn[0]
	promptFile := filepath.Join(b.dir, "prompt.txt")
	if err := os.WriteFile(promptFile, []byte(prompt+"\n"), 0o600); err != nil {
		return err
	}
	bodyFile, err := writeBody(b.dir, prompt, maxTokens)
	if err != nil {
		return err
	}
	fmt.Printf("CPU per request: a fresh worker's first concurrent pass of N (after an unmeasured pass of 10) and its next, through the starter, against hey (%s), same N, C = N, simulator at 0 latency\n", hey)
	if c, err := faultCost(); err == nil {
		fmt.Printf("a first touch of a memory page (a minor page fault) costs %.1f µs on this machine\n", c.Seconds()*1e6)
	}
	fmt.Printf("%6s %4s | %9s %7s | %9s %7s | %9s %7s | %5s %5s | %5s\n", "N", "run", "first_ms", "faults", "next_ms", "faults", "hey_ms", "faults", "first", "next", "load")
	for _, n := range counts {
		var ss []cpuSample
		for r := 1; r <= runs; r++ {
			s, err := b.cpuRun(ctx, hey, promptFile, bodyFile, n, maxTokens)
			if err != nil {
				return err
			}
			fmt.Printf("%6d %4d | %9.0f %7d | %9.0f %7d | %9.0f %7d | %5.2f %5.2f | %5s\n", n, r,
				1000*s.first.cpu, s.first.faults, 1000*s.next.cpu, s.next.faults, 1000*s.hey.cpu, s.hey.faults,
				s.firstRatio(), s.nextRatio(), loadAvg())
			ss = append(ss, s)
		}
		summarize(ss, n)
	}
	return nil
}

// summarize prints the medians of the runs at N, per 1,000 requests.
func summarize(ss []cpuSample, n int) {
	med := func(f func(cpuSample) float64) float64 { return medianOf(ss, f) }
	// perThousand is the medians of one client's CPU (ms) and page faults,
	// per 1,000 requests.
	perThousand := func(of func(cpuSample) usage) (ms, faults float64) {
		per := 1000 / float64(n)
		return per * 1000 * med(func(s cpuSample) float64 { return of(s).cpu }),
			per * med(func(s cpuSample) float64 { return float64(of(s).faults) })
	}
	firstMS, firstFaults := perThousand(func(s cpuSample) usage { return s.first })
	nextMS, nextFaults := perThousand(func(s cpuSample) usage { return s.next })
	heyMS, heyFaults := perThousand(func(s cpuSample) usage { return s.hey })
	fmt.Printf("N=%d, median of %d runs, per 1,000 requests: worker's first pass %.0f ms CPU (%.0f page faults), its next pass %.0f ms (%.0f), hey %.0f ms (%.0f)\n",
		n, len(ss), firstMS, firstFaults, nextMS, nextFaults, heyMS, heyFaults)
	fmt.Printf("N=%d, ratio to hey: first pass %.2f (range %.2f–%.2f), next pass %.2f (range %.2f–%.2f)\n", n,
		med(cpuSample.firstRatio), minOf(ss, cpuSample.firstRatio), maxOf(ss, cpuSample.firstRatio),
		med(cpuSample.nextRatio), minOf(ss, cpuSample.nextRatio), maxOf(ss, cpuSample.nextRatio))
}

// cpuRun is one run at N: a fresh simulator and worker, the worker's first
// pass and its next, then hey's requests against the same simulator.
func (b *bench) cpuRun(ctx context.Context, hey, promptFile, bodyFile string, n, maxTokens int) (cpuSample, error) {
	var s cpuSample
	sim, base, err := b.startSimulator(0)
	if err != nil {
		return s, err
	}
	defer sim.stop()
	wk, err := b.startWorker(base, n)
	if err != nil {
		return s, err
	}
	defer wk.stop()
	// An unmeasured pass of 10 first: what a worker does once (lazy
	// set-up) is not a cost per request. The first pass of N then grows
	// the fresh process into the memory N requests need; the next reuses
	// it, as a worker that serves run after run does.
	if _, err := b.cpuPass(wk, promptFile, 10, maxTokens, fmt.Sprintf("cpu-%d-warm", n)); err != nil {
		return s, err
	}
	if s.first, err = b.cpuPass(wk, promptFile, n, maxTokens, fmt.Sprintf("cpu-%d-first", n)); err != nil {
		return s, err
	}
	if s.next, err = b.cpuPass(wk, promptFile, n, maxTokens, fmt.Sprintf("cpu-%d-next", n)); err != nil {
		return s, err
	}
	s.hey, err = runHey(ctx, hey, bodyFile, base, n)
	return s, err
}

// cpuPass runs a concurrent-only pass of n requests through the starter
// and returns what the worker spent over it; every request must succeed.
func (b *bench) cpuPass(wk *proc, promptFile string, n, maxTokens int, name string) (usage, error) {
	before, err := usageOf(wk.pid())
	if err != nil {
		return usage{}, err
	}
	out := filepath.Join(b.dir, name+".json")
	if err := b.runStarter([]string{"-passes", "concurrent", "-requests", strconv.Itoa(n), "-max-requests", strconv.Itoa(n),
		"-max-tokens", strconv.Itoa(maxTokens), "-warmup", "0", "-prompts", promptFile, "-yes", "-quiet", "-out", out, "-html", "none"},
		name); err != nil {
		return usage{}, err
	}
	after, err := usageOf(wk.pid())
	if err != nil {
		return usage{}, err
	}
	if f, err := checkJSON(out, n); err != nil || f.failed > 0 {
		return usage{}, fmt.Errorf("the worker's pass %s: %v (%d failed)", name, err, f.failed)
	}
	return after.minus(before), nil
}

// faultCost is what a minor page fault costs here: the time to touch each
// page of 64 MiB of fresh anonymous memory once, per page.
func faultCost() (time.Duration, error) {
	const size = 64 << 20
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, err
	}
	defer func() { _ = syscall.Munmap(mem) }()
	page := os.Getpagesize()
	start := time.Now()
	for i := 0; i < size; i += page {
		mem[i] = 1
	}
	return time.Since(start) / time.Duration(size/page), nil
}

// writeBody writes the body the worker sends for prompt (go-openai's
// encoding of the streamed request chat.Sender makes), for hey.
func writeBody(dir, prompt string, maxTokens int) (string, error) {
	req := openai.ChatCompletionRequest{
		Model:         "gpt-4.1-nano",
		MaxTokens:     maxTokens, //lint:ignore SA1019 the field the worker sends
		Messages:      []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: prompt}},
		Stream:        true,
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "body.json")
	return path, os.WriteFile(path, body, 0o600)
}

var heyOK = regexp.MustCompile(`\[200\]\s+(\d+) responses`)

// runHey sends n requests at concurrency n with hey and returns what it
// spent (CPU user + system and minor page faults, from its rusage).
func runHey(ctx context.Context, hey, bodyFile, base string, n int) (usage, error) {
	cmd := exec.CommandContext(ctx, hey, "-n", strconv.Itoa(n), "-c", strconv.Itoa(n), "-m", "POST", "-T", "application/json",
		"-H", "Authorization: Bearer "+key, "-D", bodyFile, base+"/chat/completions")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return usage{}, fmt.Errorf("hey: %v\n%s", err, tail(out, 2000))
	}
	m := heyOK.FindSubmatch(out)
	if m == nil || string(m[1]) != strconv.Itoa(n) {
		return usage{}, fmt.Errorf("hey: not %d responses of status 200:\n%s", n, tail(out, 2000))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return usage{}, fmt.Errorf("hey: no rusage")
	}
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), faults: ru.Minflt}, nil
}

// findHey returns hey's path: on PATH, in the cache folder, or installed
// there with `go install github.com/rakyll/hey@latest`.
func findHey(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("hey"); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for hey: %w", err)
	}
	bin := filepath.Join(cache, "llmconc-bench", "bin")
	p := filepath.Join(bin, "hey")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	fmt.Printf("installing hey into %s\n", bin)
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/rakyll/hey@latest")
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install github.com/rakyll/hey@latest: %v\n%s", err, out)
	}
	return p, nil
}

func medianOf(ss []cpuSample, f func(cpuSample) float64) float64 {
	vs := make([]float64, len(ss))
	for i, s := range ss {
		vs[i] = f(s)
	}
	sort.Float64s(vs)
	if len(vs)%2 == 0 {
		return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	return vs[len(vs)/2]
}

func maxOf(ss []cpuSample, f func(cpuSample) float64) float64 {
	return -minOf(ss, func(s cpuSample) float64 { return -f(s) })
}

func minOf(ss []cpuSample, f func(cpuSample) float64) float64 {
	m := f(ss[0])
	for _, s := range ss[1:] {
		m = min(m, f(s))
	}
	return m
}
