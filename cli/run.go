package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/llmconc/llmconc/testrun"
	"go.temporal.io/sdk/client"
)

// Main runs the starter with args (without the program name) and returns the
// exit code. Errors are printed as one line on stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && lookupCommand(args[0]) != nil:
		err = execSubcommand(lookupCommand(args[0]), false, args[1:], stdout, stderr)
	case len(args) > 1 && isDevFlag(args[0]) && lookupCommand(args[1]) != nil:
		err = execSubcommand(lookupCommand(args[1]), true, args[2:], stdout, stderr)
	default:
		err = mainCommand(args, stdout, stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "starter: "+oneLine(err.Error()))
	}
	return ExitCode(err)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// mainCommand is the starter without a subcommand: it starts a run (or,
// with -repeat, several) and follows it to its end, or follows one already
// started (-attach); with -dev, in the demo's own environment.
// Long because it is the main command's one sequence of steps (plan, cost,
// demo, dial, checks, the run), each a call or two.
func mainCommand(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.isComparison() || o.parallelTargets {
		return compareCommand(o, stdout, stderr)
	}
	p, err := o.plan(time.Now())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dest := newDestination(p.jsonPath, p.htmlPath, stdout, stderr, o.quiet, o.jsonOut)

	if err := o.costGate(p.in, stderr); err != nil {
		return err
	}

	var dev *devEnv
	taskQueue, uiURL := o.taskQueue, o.uiURL
	if o.dev {
		if dev, err = o.startDemo(ctx, p.in.Model, dest.human, stderr); err != nil {
			return err
		}
		defer dev.close()
		taskQueue, uiURL = dev.taskQueue, dev.uiURL
	}
	hint := ""
	if o.attach != "" {
		hint = "-attach " + o.attach
	}
	c, copts, err := dial(ctx, dev, hint, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	o.showCost(p.in, dest.human)
	// -dev checked the endpoint against its own worker's configuration.
	if o.attach == "" && dev == nil {
		if err := requireEndpoint(ctx, c, copts.HostPort, taskQueue, p.in.Endpoint, workerWait, dest.human); err != nil {
			return err
		}
	}

	w := newWatcher(connOf(c, copts), dest, watchOptions{uiURL: uiURL, dev: dev, live: true})
	switch {
	case o.attach != "":
		err = w.attach(ctx, o.attach)
		if dev == nil {
			err = devMissing(err, nil)
		}
	case o.repeat > 1:
		err = w.repeat(ctx, p.id, taskQueue, p.in, o.repeat)
	default:
		err = w.measure(ctx, p.id, taskQueue, p.in)
	}
	if dev != nil && err == nil {
		dev.linger(ctx, dest.human, w.link())
	}
	return err
}

// plan is what the main command is to do, checked before anything starts.
type plan struct {
	in       testrun.Input // the new run's input; none with -attach
	id       string        // the new run's workflow ID, or the one -attach follows
	jsonPath string        // the result JSON file
	htmlPath string        // the HTML report file, or "" for none
}

// plan checks the options and builds the run's input, workflow ID and
// output paths; now names a run without -id.
func (o options) plan(now time.Time) (p plan, err error) {
	p.id = o.attach
	if o.attach == "" {
		if p.in, err = o.runInput(); err != nil {
			return p, err
		}
		if p.in, err = o.cost.withCost(p.in, devSimulated(o, p.in.Endpoint)); err != nil {
			return p, err
		}
		p.id = cmp.Or(o.workflowID, DefaultWorkflowID(p.in.Model, now))
	}
	if p.jsonPath, p.htmlPath, err = o.outputPaths(p.id); err != nil {
		return p, err
	}
	if o.devFresh && !o.dev {
		return p, badInput("-dev-fresh goes with -dev")
	}
	return p, nil
}

// startDemo brings the demo's environment up, its worker on a queue of
// its own for a new run of model, or, with -attach, on the queue of the
// earlier demo run, so that a run the demo left unfinished goes on.
func (o options) startDemo(ctx context.Context, model string, human, stderr io.Writer) (dev *devEnv, err error) {
	if dev, err = startDev(ctx, o, human, stderr); err != nil {
		return nil, err
	}
	queue := devQueue()
	if o.attach != "" {
		info, err := describeRun(ctx, dev.client, client.DefaultNamespace, o.attach)
		if err != nil {
			dev.close()
			return nil, devMissing(err, dev)
		}
		queue, model = info.GetTaskQueue(), modelOf(ctx, dev.client, o.attach)
	}
	if err := dev.serve(model, queue); err != nil {
		dev.close()
		return nil, err
	}
	return dev, nil
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DefaultWorkflowID is concurrency-test-<model>-<UTC timestamp>.
func DefaultWorkflowID(model string, now time.Time) string {
	return "concurrency-test-" + unsafeIDChars.ReplaceAllString(model, "_") + "-" + now.UTC().Format("20060102T150405.000Z")
}
