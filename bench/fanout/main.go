// Command fanout measures how honestly the concurrent pass is concurrent on a
// real Temporal dev server: for each N it runs a concurrent-only pass against
// the simulator at a fixed latency and prints the start spread (last send
// minus first send) and the pass's wall time against the target
// latency + 0.1 s + spread. Each run gets a fresh worker, so its connections
// start cold, as in a real first run.
//
//	go run ./bench/fanout                 # N=100 and N=1000, 2 s latency
//	go run ./bench/fanout -n 100,1000 -latency 2s -repeat 3
//
// It also runs a sequential pass of -seq requests against a 10 ms simulator
// and prints the dispatch gap of Temporal's chaining: the time from one
// response to the next send.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/llmconc/llmconc/bench/internal/benchkit"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/prompts"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workerhost"
	"github.com/llmconc/llmconc/workflows"
)

func main() {
	ns := flag.String("n", "100,1000", "comma-separated request counts")
	latency := flag.Duration("latency", 2*time.Second, "simulator latency per request (fixed)")
	repeat := flag.Int("repeat", 3, "runs per N")
	eager := flag.Bool("eager", true, "start the dev server with eager activity execution (devserver.DynamicConfig)")
	flag.IntVar(&seqN, "seq", 50, "requests of the sequential pass whose dispatch gap is measured (0: none)")
	shards := flag.Int("shards", testrun.DefaultMaxShards, "max shards of the concurrent pass")
	flag.StringVar(&saveDir, "save", "", "folder to write each run's result JSON to")
	flag.StringVar(&external, "endpoint", "", "use the simulator already serving at this base URL (key bench-key) instead of an in-process one")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the bench process to this file")
	flag.Parse()
	if !*eager {
		devserver.DynamicConfig = nil
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*ns, *latency, *repeat, *shards); err != nil {
		fmt.Fprintln(os.Stderr, "fanout: "+err.Error())
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

var (
	saveDir, external string
	seqN              int
)

// run measures each N -repeat times, then the sequential pass's dispatch
// gap (-seq > 0).
func run(nList string, latency time.Duration, repeat, shards int) error {
	ctx := context.Background()
	counts, err := benchkit.Counts(nList)
	if err != nil {
		return err
	}
	srv, err := devserver.Start(ctx, devserver.Options{UIPort: -1, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer srv.Stop()
	workerhost.TuneRuntime(os.Getenv)
	base, closeSim, err := endpoint(latency)
	if err != nil {
		return err
	}
	defer closeSim()

	copts, err := temporalenv.Options(srv.Address, temporalenv.QuietLogger(os.Stderr))
	if err != nil {
		return err
	}
	c, err := temporalenv.Dial(ctx, copts, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("Temporal dev server %s, simulator latency %s fixed, shards <= %d\n", srv.Address, latency, shards)
	fmt.Printf("%6s %4s %7s %14s %12s %12s %12s %6s\n", "N", "run", "shards", "spread_ms", "wall_s", "target_s", "max_inflight", "ok")
	for _, n := range counts {
		if err := measure(ctx, c, copts.DataConverter, base, n, latency, repeat, shards); err != nil {
			return err
		}
	}
	if seqN > 0 {
		return sequentialGap(ctx, c, copts.DataConverter, seqN)
	}
	return nil
}

// endpoint returns the base URL to measure, -endpoint's or that of an
// in-process simulator at latency, and what closes it.
func endpoint(latency time.Duration) (string, func(), error) {
	if external != "" {
		return external, func() {}, nil
	}
	sim := simulator.New(simulator.Config{Latency: latency, APIKey: "bench-key", Seed: 1})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	return base, func() { _ = sim.Close() }, nil
}

// measure makes repeat concurrent passes of n requests, each on a cold
// worker, printing a row for each and then the median and worst start
// spread and how many runs met both targets.
func measure(ctx context.Context, c client.Client, dc converter.DataConverter, base string, n int, latency time.Duration, repeat, shards int) error {
	var spreads []float64
	met := 0
	for i := 1; i <= repeat; i++ {
		p, err := concurrentRun(ctx, c, dc, base, n, i, shards)
		if err != nil {
			return err
		}
		target := latency.Seconds() + 0.1 + p.StartSpreadSeconds
		ok := p.StartSpreadSeconds <= 0.050 && p.TotalSeconds <= target && p.Failed == 0
		fmt.Printf("%6d %4d %7d %14.1f %12.3f %12.3f %12d %6v\n", n, i, p.Shards, p.StartSpreadSeconds*1000, p.TotalSeconds, target, p.MaxInFlight, ok)
		spreads = append(spreads, p.StartSpreadSeconds*1000)
		if ok {
			met++
		}
	}
	sort.Float64s(spreads)
	fmt.Printf("N=%d: start spread median %.1f ms, worst %.1f ms; %d of %d runs met both targets (spread <= 50 ms, wall <= %s + 0.1 s + spread)\n",
		n, spreads[len(spreads)/2], spreads[len(spreads)-1], met, repeat, latency)
	return nil
}

// concurrentRun runs run i of a concurrent-only pass of n requests on a
// cold worker, writes its result JSON under -save if set, and returns the
// pass's report.
func concurrentRun(ctx context.Context, c client.Client, dc converter.DataConverter, base string, n, i, shards int) (*report.Pass, error) {
	in := testrun.Input{
		Requests: n, Model: "gpt-4.1-nano", MaxTokens: 16, Concurrency: n,
		Passes: testrun.PassesConcurrent, Prompts: prompts.ForRequests(prompts.BuiltIn, n),
		PromptsSource: "built-in list", MaxShards: shards,
	}.WithDefaults()
	res, id, runID, err := runCold(ctx, c, dc, base, in)
	if err != nil {
		return nil, err
	}
	doc := report.Build(id, runID, res)
	if saveDir != "" {
		if err := report.WriteJSON(fmt.Sprintf("%s/fanout-n%d-run%d.json", saveDir, n, i), doc); err != nil {
			return nil, err
		}
	}
	return doc.Concurrent, nil
}

// sequentialGap measures the sequential pass's chaining cost against a fast
// simulator: the gap between a response and the next send.
func sequentialGap(ctx context.Context, c client.Client, dc converter.DataConverter, n int) error {
	sim := simulator.New(simulator.Config{Latency: 10 * time.Millisecond, APIKey: "bench-key", Seed: 1})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sim.Close()
	in := testrun.Input{
		Requests: n, Model: "gpt-4.1-nano", MaxTokens: 16, Passes: testrun.PassesSequential,
		Prompts: prompts.ForRequests(prompts.BuiltIn, n), PromptsSource: "built-in list",
	}.WithDefaults()
	res, id, runID, err := runCold(ctx, c, dc, base, in)
	if err != nil {
		return err
	}
	p := report.Build(id, runID, res).Sequential
	var worst float64
	for i := 1; i < len(p.Requests); i++ {
		worst = max(worst, p.Requests[i].SentAt.Sub(p.Requests[i-1].ReceivedAt).Seconds())
	}
	fmt.Printf("\nsequential pass, %d requests at 10 ms: dispatch gap %.1f ms per request on average, %.1f ms at most; %.0f%% of the pass's total\n",
		n, 1000*p.DispatchGapSeconds/float64(n-1), 1000*worst, 100*p.DispatchGapSeconds/p.TotalSeconds)
	return nil
}

// runCold runs one workflow on a worker of its own, started for it, so that
// every run starts with cold connections as a real first run does.
func runCold(ctx context.Context, c client.Client, dc converter.DataConverter, base string, in testrun.Input) (testrun.Result, string, string, error) {
	tq := fmt.Sprintf("%s-bench-%d", workflows.TaskQueue, time.Now().UnixNano())
	acts := workerhost.NewActivities(workerhost.Config{APIKey: "bench-key", BaseURL: base})
	w := workerhost.NewWith(c, tq, acts)
	if err := w.Start(); err != nil {
		return testrun.Result{}, "", "", err
	}
	defer acts.CloseIdleConnections()
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: tq}, workflows.ConcurrencyTest, in)
	if err != nil {
		return testrun.Result{}, "", "", err
	}
	var res testrun.Result
	if err := run.Get(ctx, &res); err != nil {
		return res, "", "", err
	}
	err = history.ReadRecords(ctx, c, dc, run.GetID(), run.GetRunID(), &res)
	return res, run.GetID(), run.GetRunID(), err
}
