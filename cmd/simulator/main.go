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
	var lo simulator.ListenOptions
	fs.BoolVar(&lo.TLS, "tls", false, "serve HTTPS with a self-signed certificate generated at start (see -cert-file)")
	fs.StringVar(&lo.CertFile, "cert-file", "", "with -tls: write the certificate (PEM) to this file, for clients to trust with SSL_CERT_FILE (default: a new temporary file, printed)")
	http2 := fs.Bool("http2", true, "with -tls: offer HTTP/2 (ALPN h2); -http2=false serves HTTP/1.1 only")
	fs.IntVar(&lo.MaxConcurrentStreams, "http2-max-streams", 0, "with -tls: HTTP/2 streams allowed per connection, SETTINGS_MAX_CONCURRENT_STREAMS (0 = net/http's default)")
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

	if lo.MaxConcurrentStreams < 0 {
		fmt.Fprintf(stderr, "simulator: -http2-max-streams must not be negative, got %d\n", lo.MaxConcurrentStreams)
		return 2
	}
	if !lo.TLS && (lo.CertFile != "" || !*http2 || lo.MaxConcurrentStreams != 0) {
		fmt.Fprintln(stderr, "simulator: -cert-file, -http2 and -http2-max-streams need -tls")
		return 2
	}
	lo.HTTP1Only = !*http2

	sim := simulator.New(cfg)
	baseURL, certFile, err := sim.StartWith(*addr, lo)
	if err != nil {
		fmt.Fprintln(stderr, err) // already prefixed with "simulator: "
		return 1
	}
	fmt.Fprintf(stdout, "simulator: serving OpenAI-compatible API at %s\n", baseURL)
	if certFile != "" {
		fmt.Fprintf(stdout, "simulator: certificate in %s (trust it with SSL_CERT_FILE=%s)\n", certFile, certFile)
	}
	<-ctx.Done()
	if err := sim.Close(); err != nil {
		fmt.Fprintf(stderr, "simulator: close: %v\n", err)
		return 1
	}
	return 0
}
