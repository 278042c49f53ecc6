// Command simulator serves a deterministic OpenAI-compatible chat completion
// API (see package github.com/llmconc/llmconc/simulator) until it receives
// SIGINT or SIGTERM.
//
// Usage:
//
//	simulator [-addr 127.0.0.1:8000] [-latency 2s] [-max-concurrent 4] [-rate-limit 60] ...
//
// Run with -h for the full list of flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, serves until ctx is done and returns the exit code:
// 0 on a clean shutdown (or -h), 1 if the server cannot listen, 2 on bad
// flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported as one line below
	fs.Usage = func() {}
	addr := fs.String("addr", "127.0.0.1:8000", "address to listen on")
	cfg := simulator.Config{
		Latency:      2 * time.Second,
		OutputTokens: simulator.DefaultOutputTokens,
		RateWindow:   simulator.DefaultRateWindow,
		TokenLimit:   simulator.DefaultTokenLimit,
		Seed:         1,
	}
	cfg.RegisterFlags(fs)

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage: simulator [flags]")
			fmt.Fprintln(stderr, "Serves a deterministic OpenAI-compatible API until SIGINT/SIGTERM.")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "simulator: %v (see -h)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "simulator: unexpected argument %q (see -h)\n", fs.Arg(0))
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "simulator: %v\n", err)
		return 2
	}

	sim := simulator.New(cfg)
	baseURL, err := sim.Start(*addr)
	if err != nil {
		fmt.Fprintln(stderr, err) // already prefixed with "simulator: "
		return 1
	}
	fmt.Fprintf(stdout, "simulator: serving OpenAI-compatible API at %s\n", baseURL)
	<-ctx.Done()
	if err := sim.Close(); err != nil {
		fmt.Fprintf(stderr, "simulator: close: %v\n", err)
		return 1
	}
	return 0
}
