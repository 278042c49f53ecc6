package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// subcommand is one of the starter's subcommands (`starter list`, …). Its
// flags and arguments are all checked before it connects to anything.
type subcommand interface {
	// define registers the subcommand's flags on fs.
	define(fs *flag.FlagSet)
	// check takes the positional arguments, and checks them and the flags.
	check(args []string) error
	// exec does the work; dev is the demo's environment with -dev, else nil.
	exec(ctx context.Context, dev *devEnv, stdout, stderr io.Writer) error
}

// commandInfo names a subcommand and says, in its -h and the starter's,
// what it takes and what it does.
type commandInfo struct {
	name     string
	args     string   // what it takes after its name
	short    string   // what it does, in the starter's -h
	about    string   // what it does, in its own -h
	examples []string // one-line examples, each a whole command line
	new      func() subcommand
	// verbs, for a group of subcommands (`starter schedule create`), are
	// its subcommands, chosen by the first argument; new is then nil.
	verbs []commandInfo
}

// exampleID is the workflow ID the examples use: the form of a default one.
const exampleID = "concurrency-test-gpt-4.1-nano-20261201T101500.000Z"

// commands are the starter's subcommands; without one it starts a run.
// With -dev (`starter -dev list`, or `starter list -dev`) they work on the
// demo's runs, in its dev server.
var commands = []commandInfo{
	{
		name:  "list",
		args:  "[-n N]",
		short: "recent runs: status, endpoint, verdict, speedup",
		about: "Recent runs, newest first: status, endpoint, verdict, speedup, start time. Sends no request.",
		examples: []string{
			"starter list",
			"starter list -n 5",
			"starter -dev list",
		},
		new: func() subcommand { return &listCmd{} },
	},
	{
		name:  "result",
		args:  "[-out FILE] [-html FILE] WORKFLOW_ID",
		short: "rebuild a finished run's JSON and HTML from its history",
		about: "Rebuild a finished run's JSON and HTML report from its history. Sends no request.",
		examples: []string{
			"starter result " + exampleID,
			"starter result " + exampleID + " -out run.json -html none",
			"starter -dev result " + exampleID,
		},
		new: func() subcommand { return &resultCmd{} },
	},
	{
		name:  "rerun",
		args:  "[-failed-only] [-out FILE] [-html FILE] [-id NEW_ID] [-ui URL] WORKFLOW_ID",
		short: "a new run with an earlier run's configuration (or only its failed requests)",
		about: "A new run with an earlier run's configuration and prompts, read from its history, on the same task queue\n" +
			"(-dev serves the queue of a demo run itself). With -failed-only, resend only the requests that failed, and merge.",
		examples: []string{
			"starter rerun " + exampleID,
			"starter rerun " + exampleID + " -failed-only",
			"starter -dev rerun " + exampleID + " -id my-second-try",
		},
		new: func() subcommand { return &rerunCmd{} },
	},
	probeInfo,
	scheduleInfo,
	trendInfo,
}

// lookupCommand is the subcommand called name, or nil.
func lookupCommand(name string) *commandInfo {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// isDevFlag reports whether arg is -dev (or --dev) given before a
// subcommand's name.
func isDevFlag(arg string) bool { return arg == "-dev" || arg == "--dev" }

// execSubcommand parses and checks a subcommand's arguments, then runs it:
// in the demo's dev server, which it starts for the command's time, with
// -dev (given before the name when devFirst, or among the arguments). Bad
// input and -h start nothing.
func execSubcommand(info *commandInfo, devFirst bool, args []string, stdout, stderr io.Writer) error {
	if info.verbs != nil {
		verb, err := pickVerb(info, args, stderr)
		if err != nil {
			return err
		}
		info, args = verb, args[1:]
	}
	cmd, dev, err := parseCommand(info, devFirst, args, stderr)
	if err != nil {
		return err
	}
	if nd, ok := cmd.(interface{ devRefused() string }); ok && dev {
		return badInput("%s", nd.devRefused())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var env *devEnv
	if dev {
		if env, err = startDev(ctx, options{}, io.Discard, stderr); err != nil {
			return err
		}
		defer env.close()
	}
	return cmd.exec(ctx, env, stdout, stderr)
}

// parseCommand parses a subcommand's arguments, flags before or after the
// positional ones, and checks them; dev is whether -dev was given (before
// the name when devFirst). -h prints the usage on stderr and returns
// flag.ErrHelp.
func parseCommand(info *commandInfo, devFirst bool, args []string, stderr io.Writer) (cmd subcommand, dev bool, err error) {
	cmd = info.new()
	fs := subFlags(info, stderr)
	cmd.define(fs)
	devUsage := "work on the demo's runs, in its own dev server (as starter -dev " + info.name + ")"
	if nd, ok := cmd.(interface{ devRefused() string }); ok {
		devUsage = "not taken: " + nd.devRefused()
	}
	fs.BoolVar(&dev, "dev", devFirst, devUsage)
	positional, err := parseSub(fs, args)
	if err != nil {
		return nil, false, err
	}
	if err := cmd.check(positional); err != nil {
		return nil, false, err
	}
	return cmd, dev, nil
}

// subFlags is a subcommand's flag set; its usage is printed once, on -h:
// what it takes, what it does, examples, its flags and the environment.
func subFlags(info *commandInfo, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(info.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: starter [-dev] %s %s\n\n%s\n\nExamples:\n", info.name, info.args, info.about)
		for _, e := range info.examples {
			fmt.Fprintf(stderr, "  %s\n", e)
		}
		fmt.Fprint(stderr, "\nFlags (before or after the arguments; -- ends them):\n")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprint(stderr, envUsage)
	}
	return fs
}

// parseSub parses a subcommand's arguments, flags and positional ones in
// any order, and prints the usage on -h.
func parseSub(fs *flag.FlagSet, args []string) ([]string, error) {
	// The flag package prints the usage on any error; only -h asks for it.
	printUsage := fs.Usage
	fs.Usage = func() {}
	positional, err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage()
			return nil, err
		}
		return nil, badInput("%s: %v (run starter %s -h for the flags)", fs.Name(), err, fs.Name())
	}
	return positional, nil
}

// oneWorkflowID is the workflow ID among a subcommand's positional
// arguments, which must hold exactly one.
func oneWorkflowID(name string, args []string) (string, error) {
	if len(args) != 1 {
		what := "none"
		if len(args) > 1 {
			what = fmt.Sprintf("%d: %s", len(args), strings.Join(args, " "))
		}
		return "", badInput("%s takes one workflow ID, got %s (starter list shows them; run starter %s -h for the flags)", name, what, name)
	}
	return args[0], nil
}
