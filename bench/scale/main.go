// Command scale measures the tool at scale, every part in its own process:
// a Temporal dev server, the simulator, the worker and the starter, as a
// user runs them.
//
//	go run ./bench/scale -n 10000                # one concurrent-only run of N (C = N) through the starter
//	go run ./bench/scale -cpu -n 1000,10000      # the worker's CPU per request, against hey, side by side
//	go run ./bench/scale -cpu -n 1000 -runs 10 -workers-from old,new   # two builds of the worker, in turn
//
// The size run (without -cpu) starts the run with the starter, stops
// following it once its concurrent pass has answered (the starter is
// interrupted), follows it again with `starter -attach`, then rebuilds it
// with `starter result`. It checks that both JSON files hold every record,
// and reports the worker's peak resident memory (VmHWM), its CPU time and
// most open files, the wall time, the pass's figures and the JSON's size.
//
// The CPU run (-cpu) sends, -runs times per N, two concurrent-only passes
// of N requests through the starter to a fresh worker (its first pass of
// N, which grows the process into the memory N requests need, and its
// next, as a worker serving run after run), then the same N requests with
// hey (same body, POST /v1/chat/completions, concurrency N) against the
// same near-zero-latency simulator, and compares the CPU time (user +
// system) and the minor page faults each client process spent: the
// worker's over each pass, from /proc/PID/stat; hey's over its life, from
// its rusage. It also prints what a page fault costs on the machine. hey
// is installed with `go install` into the user's cache folder when it is
// not on PATH.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmconc/llmconc/bench/internal/benchkit"
)

// key is the simulator's key and the worker's: as long as a real key (a
// key under 20 characters takes the worker's slower redaction by whole
// words), and shaped like none.
const key = "bench-key-not-real-0123456789abcdef0123"

func main() {
	nList := flag.String("n", "10000", "comma-separated request counts (C = N)")
	cpu := flag.Bool("cpu", false, "measure the worker's CPU per request against hey instead of the size run")
	runs := flag.Int("runs", 5, "with -cpu: runs per N")
	latency := flag.Duration("latency", 2*time.Second, "the simulator's latency for the size run (the CPU run uses 0)")
	maxTokens := flag.Int("max-tokens", 20, "max_tokens of each request")
	keep := flag.Bool("keep", false, "keep the folder with the binaries, logs and JSON files")
	workersFrom := flag.String("workers-from", "", "comma-separated worker binaries (go build -o FILE ./worker at other commits) started in turn, one per run, instead of the checkout's: builds compared side by side")
	flag.Parse()
	counts, err := benchkit.Counts(*nList)
	if err == nil && *runs < 1 {
		err = errors.New("-runs must be at least 1")
	}
	var workers []string
	if err == nil && *workersFrom != "" {
		workers, err = workerBinaries(*workersFrom)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale: "+err.Error())
		os.Exit(2)
	}
	if err := run(context.Background(), counts, *cpu, *runs, *latency, *maxTokens, *keep, workers); err != nil {
		fmt.Fprintln(os.Stderr, "scale: "+err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, counts []int, cpu bool, runs int, latency time.Duration, maxTokens int, keep bool, workers []string) error {
	b, err := setUp(ctx, keep, workers)
	if err != nil {
		return err
	}
	defer b.close()
	if cpu {
		return b.cpuRuns(ctx, counts, runs, maxTokens)
	}
	for _, n := range counts {
		if err := b.sizeRun(ctx, n, latency, maxTokens); err != nil {
			return err
		}
	}
	return nil
}

// workerBinaries checks the -workers-from list: executable files, as
// absolute paths (the workers start in the bench's folder).
func workerBinaries(list string) ([]string, error) {
	var bins []string
	for _, f := range strings.Split(list, ",") {
		abs, err := filepath.Abs(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-workers-from %q: %w", f, err)
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("-workers-from: %s is not an executable file", abs)
		}
		bins = append(bins, abs)
	}
	return bins, nil
}

// loadAvg is the first field of /proc/loadavg: the machine's load, which the
// figures are printed beside.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
