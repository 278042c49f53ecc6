package cli

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/prompts"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// probeInfo is `starter probe`: it finds the key's limits in one run.
var probeInfo = commandInfo{
	name:  "probe",
	args:  "[-max-concurrency N] [-requests-per-level N] [-max-wait D] [-slo OBJECTIVES] [flags]",
	short: "find the key's limits: concurrency levels 1, 2, 4, … until one is past the limit",
	about: "Find how hard the key can be pushed, in one durable run (the ConcurrencyProbe workflow): one concurrent burst per\n" +
		"level 1, 2, 4, … up to -max-concurrency, each of -requests-per-level requests (default twice the level), stopping once\n" +
		"a level is past the limit (429s on more than half, or effective parallelism below half the level), and waiting between\n" +
		"levels for the rate-limit window to reset when the headers say the next level would not fit in it. Reports the\n" +
		"largest concurrency served in parallel, the knee, the first 429, the requests and tokens per minute, and the\n" +
		"concurrency to use.",
	examples: []string{
		"starter probe",
		"starter probe -max-concurrency 16 -model gpt-4.1-mini",
		"starter -dev probe -max-concurrency 8",
	},
	new: func() subcommand { return &probeCmd{} },
}

// probeCmd starts a probe and follows it like a run.
type probeCmd struct {
	o     options
	probe testrun.Probe
	in    testrun.Input
	id    string
	// jsonPath and htmlPath are the output files ("" htmlPath: none).
	jsonPath, htmlPath string
}

func (c *probeCmd) define(fs *flag.FlagSet) {
	o := &c.o
	fs.IntVar(&c.probe.MaxConcurrency, "max-concurrency", testrun.DefaultProbeMaxConcurrency, "the highest concurrency level (levels 1, 2, 4, … up to it)")
	fs.IntVar(&c.probe.RequestsPerLevel, "requests-per-level", 0, "requests of each level (0: twice the level)")
	fs.DurationVar(&c.probe.MaxWait, "max-wait", testrun.DefaultProbeMaxWait, "the longest wait between two levels for the rate-limit window to reset")
	fs.Var(&o.slo, "slo", "service-level `objectives`, any of ttft=500ms,tpot=50ms,latency=5s: each level reports its goodput, and the recommendation stays at most the largest level where 95% of requests met them all")
	fs.StringVar(&o.endpoint, "endpoint", record.DefaultEndpoint, "which of the worker's allow-listed endpoints to probe, by name")
	fs.StringVar(&o.model, "model", DefaultModel, "chat model to call")
	fs.IntVar(&o.maxTokens, "max-tokens", testrun.DefaultMaxTokens, "max_tokens of each request")
	fs.StringVar(&o.promptsFile, "prompts", "", "file with one prompt per line (default: the built-in list of 24 prompts)")
	fs.IntVar(&o.maxRequests, "max-requests", testrun.DefaultMaxRequests, "refuse levels of more requests than this, a guard against typos")
	o.outputFlags(fs)
	fs.DurationVar(&o.timeout, "timeout", testrun.DefaultTimeout, "bound on the whole probe: after it no new request is sent")
	fs.DurationVar(&o.requestTimeout, "request-timeout", testrun.DefaultRequestTimeout, "bound on each request")
	o.stream = true
	fs.BoolFunc("stream", "stream the responses (SSE; the default); -stream=false for plain responses", func(v string) error {
		b, err := strconv.ParseBool(v)
		o.stream, o.streamSet = b, true
		return err
	})
	fs.IntVar(&o.warmup, "warmup", testrun.DefaultWarmup, "unmeasured requests sent before the first level")
	fs.IntVar(&o.shards, "shards", testrun.DefaultMaxShards, "at most this many activities send a level")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the conclusion")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result JSON to stdout (the report goes to stderr)")
	fs.StringVar(&o.taskQueue, "task-queue", workflows.TaskQueue, "task queue of the worker")
	fs.StringVar(&o.workflowID, "id", "", "workflow ID of the probe (default probe-<model>-<UTC time>)")
	uiFlag(fs, &o.uiURL)
	o.cost.define(fs)
}

// check builds and checks the probe's input and output paths: bad input
// is refused before anything is sent.
func (c *probeCmd) check(args []string) error {
	if len(args) > 0 {
		return badInput("probe: unexpected argument %q (run starter probe -h for the flags)", args[0])
	}
	if err := c.probe.Validate(c.o.maxRequests); err != nil {
		return badInput("probe: %v", err)
	}
	base, source := prompts.BuiltIn, "built-in list"
	if c.o.promptsFile != "" {
		p, err := prompts.ReadFile(c.o.promptsFile)
		if err != nil {
			return badInput("%v", err)
		}
		base, source = p, c.o.promptsFile
	}
	in := testrun.Input{
		Endpoint:       strings.TrimSpace(c.o.endpoint),
		Model:          strings.TrimSpace(c.o.model),
		MaxTokens:      c.o.maxTokens,
		PromptsSource:  source,
		RequestTimeout: c.o.requestTimeout,
		Timeout:        c.o.timeout,
		MaxShards:      c.o.shards,
		Stream:         c.o.stream,
		StreamAuto:     c.o.stream && !c.o.streamSet,
		Warmup:         c.o.warmup,
		RetryAttempts:  testrun.DefaultRetryAttempts,
		MaxRequests:    c.o.maxRequests,
		SLO:            c.o.slo.slo,
	}
	c.in = testrun.ProbeInput(in, c.probe, func(n int) []string { return prompts.ForRequests(base, n) }).WithDefaults()
	if err := c.in.Validate(); err != nil {
		return badInput("probe: %v", err)
	}
	var err error
	if c.in, err = c.o.cost.withCost(c.in, false); err != nil {
		return err
	}
	c.id = cmp.Or(c.o.workflowID, DefaultProbeID(c.in.Model, time.Now()))
	c.jsonPath, c.htmlPath, err = c.o.outputPaths(c.id)
	return err
}

// DefaultProbeID is probe-<model>-<UTC timestamp>.
func DefaultProbeID(model string, now time.Time) string {
	return "probe-" + strings.TrimPrefix(DefaultWorkflowID(model, now), "concurrency-test-")
}

func (c *probeCmd) exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error {
	dest := newDestination(c.jsonPath, c.htmlPath, stdout, stderr, c.o.quiet, c.o.jsonOut)
	// With -dev and no key, the demo's simulator answers: free.
	if dev != nil && devSimulated(options{dev: true}, c.in.Endpoint) {
		c.in.Prices = &testrun.Prices{Source: testrun.PriceSourceSimulator}
		est := testrun.EstimateCost(c.in, c.in.Prices)
		c.in.CostEstimate = &est
	}
	// The estimate bounds the probe as if it ran every level.
	if err := c.o.costGate(c.in, stderr); err != nil {
		return err
	}
	taskQueue, uiURL := c.o.taskQueue, c.o.uiURL
	if dev != nil {
		if err := dev.serve(c.in.Model, devQueue()); err != nil {
			return err
		}
		taskQueue, uiURL = dev.taskQueue, dev.uiURL
	}
	cl, copts, err := dial(ctx, dev, "", stderr)
	if err != nil {
		return err
	}
	defer cl.Close()
	printCost(dest.human, c.in)
	if dev == nil {
		if err := requireEndpoint(ctx, cl, copts.HostPort, taskQueue, c.in.Endpoint, workerWait, dest.human); err != nil {
			return err
		}
	}
	w := newWatcher(connOf(cl, copts), dest, watchOptions{uiURL: uiURL, dev: dev, live: true})
	err = w.measure(ctx, c.id, taskQueue, c.in)
	if dev != nil && err == nil {
		dev.linger(ctx, dest.human, w.link())
	}
	return err
}

// passRequests is the number of requests of pass: a probe's level sends
// its own number, any other pass the run's -requests.
func passRequests(pass string, c report.Config) int {
	if level, ok := record.Pass(pass).SweepLevel(); ok && c.Probe != nil {
		return c.Probe.RequestsAt(level)
	}
	return c.Requests
}

// probeHeadline is what `starter list` shows of a finished probe: the
// concurrency it recommends, from the levels' summaries in its result.
func probeHeadline(r testrun.Result) string {
	var levels []analysis.ProbeLevel
	baseline := 0.0
	for _, p := range r.Sweep {
		if baseline == 0 {
			baseline = analysis.ProbeBaseline(p.Summary)
		}
		levels = append(levels, analysis.ProbeLevelOf(p.Concurrency, p.Summary, baseline))
	}
	headline := fmt.Sprintf("probe: use %d at once", analysis.SummarizeProbe(levels, analysis.ProbeLimits{}).RecommendedConcurrency)
	if r.Config.SLO != nil {
		// The levels' goodput needs their records, from the history:
		// `starter result` has it.
		headline += " (before -slo)"
	}
	return headline
}
