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

// cpuSample is one run: the worker's CPU seconds for its pass, hey's for
// the same requests.
type cpuSample struct{ worker, hey float64 }

func (s cpuSample) ratio() float64 { return s.worker / s.hey }

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
	fmt.Printf("CPU per request: the worker (a concurrent pass through the starter, a fresh worker each run, after an unmeasured pass of 10) against hey (%s), same N, C = N, simulator at 0 latency\n", hey)
	fmt.Printf("%6s %4s | %10s %9s | %10s %9s | %6s | %5s\n", "N", "run", "worker_ms", "us/req", "hey_ms", "us/req", "ratio", "load")
	for _, n := range counts {
		var ss []cpuSample
		for r := 1; r <= runs; r++ {
			s, err := b.cpuRun(ctx, hey, promptFile, bodyFile, n, maxTokens)
			if err != nil {
				return err
			}
			fmt.Printf("%6d %4d | %10.0f %9.1f | %10.0f %9.1f | %6.2f | %5s\n", n, r,
				1000*s.worker, 1e6*s.worker/float64(n), 1000*s.hey, 1e6*s.hey/float64(n), s.ratio(), loadAvg())
			ss = append(ss, s)
		}
		w, h, ratio := medianOf(ss, func(s cpuSample) float64 { return s.worker }), medianOf(ss, func(s cpuSample) float64 { return s.hey }), medianOf(ss, cpuSample.ratio)
		fmt.Printf("N=%d, median of %d runs: worker %.0f ms (%.0f ms per 1,000 requests), hey %.0f ms (%.0f per 1,000), ratio %.2f (range %.2f–%.2f)\n",
			n, len(ss), 1000*w, 1e6*w/float64(n), 1000*h, 1e6*h/float64(n), ratio,
			minOf(ss, cpuSample.ratio), -minOf(ss, func(s cpuSample) float64 { return -s.ratio() }))
	}
	return nil
}

// cpuRun is one run at N: a fresh simulator and worker, the worker's pass,
// then hey's requests against the same simulator.
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
	// An unmeasured pass of 10 first: what a worker does once (lazy
	// set-up, the heap's first growth) is not a cost per request.
	out := filepath.Join(b.dir, fmt.Sprintf("cpu-%d.json", n))
	if err := b.runStarter([]string{"-passes", "concurrent", "-requests", "10", "-max-tokens", strconv.Itoa(maxTokens), "-warmup", "0",
		"-prompts", promptFile, "-yes", "-quiet", "-out", out, "-html", "none"}, fmt.Sprintf("cpu-%d-warm", n)); err != nil {
		wk.stop()
		return s, err
	}
	before, err := cpuSeconds(wk.pid())
	if err != nil {
		wk.stop()
		return s, err
	}
	err = b.runStarter([]string{"-passes", "concurrent", "-requests", strconv.Itoa(n), "-max-requests", strconv.Itoa(n),
		"-max-tokens", strconv.Itoa(maxTokens), "-warmup", "0", "-prompts", promptFile, "-yes", "-quiet", "-out", out, "-html", "none"},
		fmt.Sprintf("cpu-%d", n))
	after, cerr := cpuSeconds(wk.pid())
	wk.stop()
	if err != nil {
		return s, err
	}
	if cerr != nil {
		return s, cerr
	}
	if f, err := checkJSON(out, n); err != nil || f.failed > 0 {
		return s, fmt.Errorf("the worker's pass: %v (%d failed)", err, f.failed)
	}
	s.worker = after - before
	s.hey, err = runHey(ctx, hey, bodyFile, base, n)
	return s, err
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

// runHey sends n requests at concurrency n with hey and returns its CPU
// seconds (user + system, from its rusage).
func runHey(ctx context.Context, hey, bodyFile, base string, n int) (float64, error) {
	cmd := exec.CommandContext(ctx, hey, "-n", strconv.Itoa(n), "-c", strconv.Itoa(n), "-m", "POST", "-T", "application/json",
		"-H", "Authorization: Bearer "+key, "-D", bodyFile, base+"/chat/completions")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("hey: %v\n%s", err, tail(out, 2000))
	}
	m := heyOK.FindSubmatch(out)
	if m == nil || string(m[1]) != strconv.Itoa(n) {
		return 0, fmt.Errorf("hey: not %d responses of status 200:\n%s", n, tail(out, 2000))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, fmt.Errorf("hey: no rusage")
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
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

func minOf(ss []cpuSample, f func(cpuSample) float64) float64 {
	m := f(ss[0])
	for _, s := range ss[1:] {
		m = min(m, f(s))
	}
	return m
}
