// Command codec-server decrypts and encrypts llmconc's payloads for the
// Temporal UI and the temporal CLI (--codec-endpoint), per Temporal's remote
// codec protocol, with the key in LLMCONC_CODEC_KEY (and LLMCONC_CODEC_OLD_KEYS)
// and, when LLMCONC_CODEC_TOKEN is set, only for requests bearing that token.
// It serves until SIGINT or SIGTERM. See docs/encryption.md.
//
// Usage:
//
//	codec-server [-listen 127.0.0.1:8234] [-origins http://localhost:8233,http://localhost:8080,...]
package main

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

	"github.com/llmconc/llmconc/codec"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// run returns the exit code: 0 on a clean shutdown (or -h), 1 if the server
// cannot serve, 2 on bad flags or a bad key.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("codec-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:8234", "address to listen on")
	origins := fs.String("origins", strings.Join(codec.DefaultOrigins, ","), "comma-separated browser origins (Temporal UIs) allowed to call the server")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage: codec-server [flags]")
			fmt.Fprintln(stderr, "Serves /encode and /decode for the Temporal UI and CLI with the key in "+codec.EnvKey)
			fmt.Fprintln(stderr, "(and the old keys in "+codec.EnvOldKeys+"); with "+codec.EnvServerToken+" set, only to requests")
			fmt.Fprintln(stderr, "with the header `Authorization: Bearer <token>`. Serves until SIGINT or SIGTERM.")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "codec-server: %v (see -h)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "codec-server: unexpected argument %q (see -h)\n", fs.Arg(0))
		return 2
	}
	allowed, err := codec.ParseOrigins(*origins)
	if err != nil {
		fmt.Fprintf(stderr, "codec-server: -origins: %v\n", err)
		return 2
	}
	srv, err := codec.NewServer(codec.ServerConfig{Listen: *listen, Origins: allowed}, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "codec-server: %v\n", err)
		return 2
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	if err := srv.Run(ctx, logf); err != nil {
		fmt.Fprintf(stderr, "codec-server: %v\n", err)
		return 1
	}
	return 0
}
