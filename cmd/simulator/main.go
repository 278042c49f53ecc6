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
	fs, o := newFlagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, stderr)
			return 0
		}
		fmt.Fprintf(stderr, "simulator: %v (see -h)\n", err)
		return 2
	}
	if err := o.check(fs); err != nil {
		fmt.Fprintf(stderr, "simulator: %v\n", err)
		return 2
	}
	return serve(ctx, o, stdout, stderr)
}

// options is what the command line asks for.
type options struct {
	addr   string
	http2  bool
	listen simulator.ListenOptions
	cfg    simulator.Config
}

// newFlagSet returns the command's flags, which set the fields of the
// options it returns. Its errors are reported by run, as one line.
func newFlagSet() (*flag.FlagSet, *options) {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported as one line by run
	fs.Usage = func() {}
	o := &options{cfg: simulator.Config{
		Latency:      2 * time.Second,
		OutputTokens: simulator.DefaultOutputTokens,
		RateWindow:   simulator.DefaultRateWindow,
		TokenLimit:   simulator.DefaultTokenLimit,
		Seed:         1,
	}}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8000", "address to listen on")
	fs.BoolVar(&o.listen.TLS, "tls", false, "serve HTTPS with a self-signed certificate generated at start (see -cert-file)")
	fs.StringVar(&o.listen.CertFile, "cert-file", "", "with -tls: write the certificate (PEM) to this file, for clients to trust with SSL_CERT_FILE (default: a new temporary file, printed)")
	fs.BoolVar(&o.http2, "http2", true, "with -tls: offer HTTP/2 (ALPN h2); -http2=false serves HTTP/1.1 only")
	fs.IntVar(&o.listen.MaxConcurrentStreams, "http2-max-streams", 0, "with -tls: HTTP/2 streams allowed per connection, SETTINGS_MAX_CONCURRENT_STREAMS (0 = net/http's default)")
	o.cfg.RegisterFlags(fs)
	return fs, o
}

// printUsage prints the -h text: what the command does and its flags.
func printUsage(fs *flag.FlagSet, stderr io.Writer) {
	fmt.Fprintln(stderr, "usage: simulator [flags]")
	fmt.Fprintln(stderr, "Serves a deterministic OpenAI-compatible API until SIGINT/SIGTERM.")
	fs.SetOutput(stderr)
	fs.PrintDefaults()
}

// check reports the first thing wrong with the parsed command line: an
// argument, an invalid simulator setting, or a listen flag out of range or
// without -tls.
func (o *options) check(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if err := o.cfg.Validate(); err != nil {
		return err
	}
	if o.listen.MaxConcurrentStreams < 0 {
		return fmt.Errorf("-http2-max-streams must not be negative, got %d", o.listen.MaxConcurrentStreams)
	}
	if !o.listen.TLS && (o.listen.CertFile != "" || !o.http2 || o.listen.MaxConcurrentStreams != 0) {
		return errors.New("-cert-file, -http2 and -http2-max-streams need -tls")
	}
	return nil
}

// serve starts the simulator, says where it serves, and closes it when ctx
// is done. It returns the exit code: 1 if it cannot listen or close, else 0.
func serve(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	lo := o.listen
	lo.HTTP1Only = !o.http2
	sim := simulator.New(o.cfg)
	baseURL, certFile, err := sim.StartWith(o.addr, lo)
	if err != nil {
		fmt.Fprintln(stderr, err) // already prefixed with "simulator: "
		return 1
	}
	if o.cfg.Azure {
		fmt.Fprintf(stdout, "simulator: serving Azure OpenAI-compatible API (api-version %s) at %s\n", sim.Config().AzureAPIVersion, baseURL)
	} else {
		fmt.Fprintf(stdout, "simulator: serving OpenAI-compatible API at %s\n", baseURL)
	}
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
