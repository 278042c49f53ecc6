// Package cli is the starter program: it checks the user's input, starts a run
// (or attaches to one), shows its progress live from the workflow's progress
// query, writes the result JSON and prints the report.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llmconc/llmconc/prompts"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// DefaultModel is a current low-cost chat model on OpenAI's API.
const DefaultModel = "gpt-4.1-nano"

// Exit codes.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the run failed, ended early, or could not be followed
	ExitBadInput = 2 // bad flags or input, or Temporal unreachable: nothing was started
)

// exitError carries the exit code of an error.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return exitError{ExitBadInput, fmt.Errorf(format, args...)}
}

func failed(err error) error { return exitError{ExitFailed, err} }

// ExitCode returns the exit code for an error returned by Main's steps.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	return ExitFailed
}

// options are the starter's flags.
type options struct {
	requests       int
	endpoint       string
	model          string
	maxTokens      int
	concurrency    int
	passes         string
	promptsFile    string
	out            string
	timeout        time.Duration
	requestTimeout time.Duration
	attach         string
	stream         bool
	quiet          bool
	jsonOut        bool
	html           string
	sweep          string
	repeat         int
	retry          string
	dev            bool
	devFresh       bool
	shards         int
	fireLead       time.Duration
	taskQueue      string
	workflowID     string
	uiURL          string
	maxRequests    int
	warmup         int
	// rate, burstiness and seed: the open-loop rate mode (see rate.go).
	rate       float64
	burstiness float64
	seed       int64
	slo        sloFlag
	// streamSet is set when -stream was given: streaming was asked for (or
	// refused), not the default.
	streamSet bool
	// cost holds -price-input, -price-output, -max-cost and -yes (cost.go).
	cost costOptions
	// parallelTargets runs a comparison's targets at once (comparison.go).
	parallelTargets bool
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	fs.IntVar(&o.requests, "requests", testrun.DefaultRequests, "requests per pass (N)")
	fs.IntVar(&o.maxRequests, "max-requests", testrun.DefaultMaxRequests, "refuse runs of more -requests than this, a guard against typos")
	fs.StringVar(&o.endpoint, "endpoint", record.DefaultEndpoint, "which of the worker's allow-listed endpoints to measure, by name (the worker's LLMCONC_ENDPOINTS; \"default\" is OPENAI_API_KEY and OPENAI_BASE_URL); a comma list compares them side by side (docs/compare.md)")
	fs.StringVar(&o.model, "model", DefaultModel, "chat model to call; a comma list compares them side by side (docs/compare.md)")
	fs.BoolVar(&o.parallelTargets, "parallel-targets", false, "with an -endpoint or -model list: run the targets at once instead of one after another (targets sharing a key or a server then disturb each other)")
	fs.IntVar(&o.maxTokens, "max-tokens", testrun.DefaultMaxTokens, "max_tokens of each request")
	fs.IntVar(&o.concurrency, "concurrency", 0, "requests in flight at once in the concurrent pass (C); 0 means all of -requests")
	fs.StringVar(&o.passes, "passes", testrun.PassesBoth, "which passes to run: both, sequential or concurrent")
	fs.StringVar(&o.promptsFile, "prompts", "", "file with one prompt per line (default: the built-in list of 24 prompts)")
	o.outputFlags(fs)
	fs.DurationVar(&o.timeout, "timeout", testrun.DefaultTimeout, "bound on the whole run: after it no new request is sent")
	fs.DurationVar(&o.requestTimeout, "request-timeout", testrun.DefaultRequestTimeout, "bound on each request")
	fs.BoolVar(&o.stream, "stream", true, "stream the responses (SSE): TTFT, TPOT, inter-chunk gaps and the server's observed concurrency; -stream=false for plain responses")
	fs.IntVar(&o.warmup, "warmup", testrun.DefaultWarmup, "unmeasured requests sent before the first pass (model load, connection set-up)")
	fs.Var(&o.slo, "slo", "service-level `objectives`, any of ttft=500ms,tpot=50ms,latency=5s: each pass reports its goodput, the requests that met every one (docs/goodput.md)")
	fs.StringVar(&o.sweep, "sweep", "", "concurrency levels, e.g. 1,2,4,8,16,32: one concurrent pass of -requests requests per level, and the knee")
	fs.IntVar(&o.repeat, "repeat", 1, "repeat the whole comparison R times (one run each) and report the mean speedup with its 95% confidence interval")
	fs.StringVar(&o.retry, "retry", testrun.RetryNone, "none: a failed request is recorded, not sent again; backoff: a 429 or 5xx is sent again after its Retry-After (up to 5 tries)")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the conclusion")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result JSON to stdout (the report goes to stderr)")
	fs.StringVar(&o.attach, "attach", "", "follow an existing run by workflow ID instead of starting one, and write its JSON")
	fs.BoolVar(&o.dev, "dev", false, "self-contained demo: start a local Temporal dev server (keeping its runs in the user's cache folder), an in-process worker, and the simulator when OPENAI_API_KEY is unset")
	fs.BoolVar(&o.devFresh, "dev-fresh", false, "with -dev: start the demo's dev server with no runs (forget the earlier demo runs)")
	fs.IntVar(&o.shards, "shards", testrun.DefaultMaxShards, "at most this many activities send the concurrent pass")
	fs.DurationVar(&o.fireLead, "fire-lead", 0, "time from scheduling the concurrent pass to its common send instant (0: automatic)")
	rateFlags(fs, o)
	fs.StringVar(&o.taskQueue, "task-queue", workflows.TaskQueue, "task queue of the worker")
	fs.StringVar(&o.workflowID, "id", "", "workflow ID of the new run (default concurrency-test-<model>-<UTC time>)")
	uiFlag(fs, &o.uiURL)
	o.cost.define(fs)
	return fs
}

// EnvUIURL is the default of -ui.
const EnvUIURL = "TEMPORAL_UI_URL"

// uiFlag registers -ui, whose default is $TEMPORAL_UI_URL, else the UI of
// docker-compose.yml.
func uiFlag(fs *flag.FlagSet, p *string) {
	def := os.Getenv(EnvUIURL)
	if def == "" {
		def = "http://localhost:8080"
	}
	fs.StringVar(p, "ui", def, "base URL of the Temporal Web UI, for links to the run (default $"+EnvUIURL+", else http://localhost:8080; the UI of temporal server start-dev is http://localhost:8233); the link is printed only when the UI answers")
}

// usage is the starter's -h: what it does, its subcommands, examples, its
// flags, and the environment it reads.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `Usage: starter [flags]                          start a run and follow it (see docs/cli.md)
       starter -attach WORKFLOW_ID [flags]     follow a run already started, and write its result
`)
	for _, c := range commands {
		synopsis := "starter " + c.name + " " + c.args
		if len(synopsis) < 40 {
			fmt.Fprintf(w, "       %-40s%s\n", synopsis, c.short)
		} else {
			fmt.Fprintf(w, "       %s\n%47s%s\n", synopsis, "", c.short)
		}
	}
	fmt.Fprint(w, `       starter -dev [flags]                    the self-contained demo (no key needed)
       starter -dev list|result|rerun ...      the same subcommands, on the demo's runs
Flags may come before or after a subcommand's arguments (-- ends them); each subcommand's -h lists its flags.

Examples:
  starter -dev                                  the demo: a local Temporal server, a worker, a simulated endpoint
  starter -requests 20 -model gpt-4.1-mini      measure the worker's endpoint with 20 requests per pass
  starter -sweep 1,2,4,8,16 -requests 32        find the concurrency level past which the endpoint queues
  starter -attach `+exampleID+` -quiet
  starter rerun `+exampleID+` -failed-only
  starter -endpoint a,b -model gpt-4.1-nano     compare two allow-listed endpoints side by side (docs/compare.md)

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprint(w, envUsage)
}

// envUsage lists the environment the starter reads.
const envUsage = `
Environment:
  TEMPORAL_ADDRESS      Temporal server's host:port (default localhost:7233)
  TEMPORAL_NAMESPACE    namespace (default "default")
  TEMPORAL_PROFILE      profile of the Temporal config file (TEMPORAL_CONFIG_FILE; TLS, API keys for Temporal Cloud)
  TEMPORAL_UI_URL       default of -ui
  TEMPORAL_CLI          the temporal binary -dev runs (default: on PATH, else GOBIN or GOPATH/bin, else built with go install)
  LLMCONC_DEV_DB        where -dev keeps its runs (default llmconc/temporal-dev.db in the user's cache folder)
  LLMCONC_DEV_PORT      -dev's dev server port, always its own server (default: 7233, or the server already there; 0: any free port)
  LLMCONC_CODEC_KEY     payload encryption key, the same as the worker's (LLMCONC_CODEC_OLD_KEYS: earlier keys)
  OPENAI_API_KEY, OPENAI_BASE_URL, LLMCONC_ENDPOINTS
                        read by -dev's in-process worker only (the worker holds the keys; without a key -dev uses
                        the built-in simulator); the starter never sends or stores a key
`

// parseFlags parses args. A malformed flag is one line and ExitBadInput; -h
// prints the usage and returns flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(io.Discard)
	positional, err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stderr)
			return o, err
		}
		return o, badInput("%v (run with -h for the flags)", err)
	}
	o.noteGiven(fs)
	if len(positional) > 0 {
		if lookupCommand(positional[0]) != nil {
			return o, badInput("unexpected argument %q: a subcommand comes first (`starter %s …`, or `starter -dev %s …`)", positional[0], positional[0], positional[0])
		}
		return o, badInput("unexpected argument %q (flags start with -; run with -h for the flags)", positional[0])
	}
	return o, nil
}

// noteGiven notes which of the run's flags were given, where it matters:
// -concurrency 0 and -stream.
func (o *options) noteGiven(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "concurrency" && o.concurrency == 0 {
			o.concurrency = -1 // -concurrency 0 given: rejected as out of range, not taken as the default
		}
		if f.Name == "stream" {
			o.streamSet = true
		}
	})
}

// runInput checks the options and builds the workflow input. Everything a run
// needs is checked here, before anything is started.
// Long because it maps every flag of a run onto its input, one field each.
func (o options) runInput() (testrun.Input, error) {
	if o.maxRequests < 1 || o.maxRequests > testrun.HardMaxRequests {
		return testrun.Input{}, badInput("-max-requests must be between 1 and %d, got %d", testrun.HardMaxRequests, o.maxRequests)
	}
	if o.requests < 1 || o.requests > o.maxRequests {
		return testrun.Input{}, badInput("-requests must be between 1 and %d (-max-requests), got %d", o.maxRequests, o.requests)
	}
	conc := o.concurrency
	if conc == 0 {
		conc = o.requests
	} else if conc < 0 {
		return testrun.Input{}, badInput("-concurrency must be between 1 and -requests (%d), got %d", o.requests, max(conc, 0))
	}
	base, source := prompts.BuiltIn, "built-in list"
	if o.promptsFile != "" {
		p, err := prompts.ReadFile(o.promptsFile)
		if err != nil {
			return testrun.Input{}, badInput("%v", err)
		}
		base, source = p, o.promptsFile
	}
	in := testrun.Input{
		Endpoint:       strings.TrimSpace(o.endpoint),
		Requests:       o.requests,
		Model:          strings.TrimSpace(o.model),
		MaxTokens:      o.maxTokens,
		Concurrency:    conc,
		Passes:         o.passes,
		Prompts:        prompts.ForRequests(base, o.requests),
		PromptsSource:  source,
		RequestTimeout: o.requestTimeout,
		Timeout:        o.timeout,
		MaxShards:      o.shards,
		FireLead:       o.fireLead,
		Stream:         o.stream,
		StreamAuto:     o.stream && !o.streamSet,
		Warmup:         o.warmup,
		Retry:          o.retry,
		RetryAttempts:  testrun.DefaultRetryAttempts,
		MaxRequests:    o.maxRequests,
		SLO:            o.slo.slo,
	}
	if o.repeat < 1 || o.repeat > 100 {
		return testrun.Input{}, badInput("-repeat must be between 1 and 100, got %d", o.repeat)
	}
	if o.repeat > 1 && (o.sweep != "" || o.passes != testrun.PassesBoth) {
		return testrun.Input{}, badInput("-repeat repeats the comparison of both passes: it does not combine with -sweep or -passes")
	}
	if o.sweep != "" {
		var err error
		if in.Sweep, err = parseSweep(o.sweep); err != nil {
			return in, err
		}
		in.Passes = testrun.PassesSweep
	}
	if err := o.applyRate(&in); err != nil {
		return in, err
	}
	if err := in.Validate(); err != nil {
		return in, badInput("%v", err)
	}
	return in, nil
}

// parseSweep reads -sweep's concurrency levels, separated by commas.
func parseSweep(s string) ([]int, error) {
	var levels []int
	for _, f := range strings.Split(s, ",") {
		level, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, badInput("-sweep takes concurrency levels separated by commas, such as 1,2,4,8; %q is not a number", f)
		}
		levels = append(levels, level)
	}
	return levels, nil
}

// defaultPath is the result JSON's default path: named after the run's
// workflow ID, in the current folder, so that rebuilding a run's result
// replaces its file.
func defaultPath(workflowID string) string {
	return "test_results_" + unsafeIDChars.ReplaceAllString(workflowID, "_") + ".json"
}

// outputFlags registers -out and -html, which every command that writes a
// result takes.
func (o *options) outputFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.out, "out", "", "result JSON file (default test_results_<workflow ID>.json in the current folder)")
	fs.StringVar(&o.html, "html", "", "HTML report file (default: next to the JSON, same name with .html; \"none\" for no report)")
}

// checkOutputs checks the paths given with -out and -html, before the
// workflow ID (and so the default paths) is known.
func (o options) checkOutputs() error {
	if o.out != "" {
		if err := checkWritable(o.out); err != nil {
			return err
		}
	}
	if o.html != "" && o.html != "none" {
		if err := checkWritable(o.html); err != nil {
			return err
		}
	}
	if o.out != "" && o.html != "" && samePath(o.out, o.html) {
		return badInput("-out and -html both name %s: the HTML report would overwrite the JSON; give them different files", o.out)
	}
	return nil
}

// outputPaths returns the result JSON's and the HTML report's paths ("" for
// no report) for the run with workflowID, both checked, and different.
func (o options) outputPaths(workflowID string) (jsonPath, htmlPath string, err error) {
	jsonPath = o.out
	if jsonPath == "" {
		jsonPath = defaultPath(workflowID)
	}
	if err := checkWritable(jsonPath); err != nil {
		return "", "", err
	}
	switch o.html {
	case "none":
		return jsonPath, "", nil
	case "":
		htmlPath = strings.TrimSuffix(jsonPath, filepath.Ext(jsonPath)) + ".html"
	default:
		if err := checkWritable(o.html); err != nil {
			return "", "", err
		}
		htmlPath = o.html
	}
	if samePath(jsonPath, htmlPath) {
		return "", "", badInput("the result JSON and the HTML report would both be %s: give -out a name ending in .json, or -html another file (or none)", jsonPath)
	}
	return jsonPath, htmlPath, nil
}

// samePath reports whether a and b name the same file.
func samePath(a, b string) bool {
	if sa, err := os.Stat(a); err == nil {
		if sb, err := os.Stat(b); err == nil {
			return os.SameFile(sa, sb)
		}
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// checkWritable checks that path's folder takes a file, so that a finished
// run's result is not lost to a typo. The error names path alone, not the
// probe file.
func checkWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return badInput("cannot write to %s: it is a folder", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".write-check-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return badInput("cannot write to %s: %v", path, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}
