// Package temporalenv connects to Temporal with the SDK's standard environment
// configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PROFILE and the
// config file) and the application's payload encryption (LLMCONC_CODEC_KEY,
// see package codec), and turns connection failures into one line that says
// how to fix them.
package temporalenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/llmconc/llmconc/codec"
)

// Options loads the client options from the environment. A non-empty address
// overrides TEMPORAL_ADDRESS (used by -dev). Every client gets the data and
// failure converters of codec.ClientConverters, so that the worker and the
// starter encrypt and decrypt payloads alike.
func Options(address string, logger log.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("read the Temporal client configuration (TEMPORAL_* variables, config file): %w", err)
	}
	if address != "" {
		opts.HostPort = address
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	opts.Logger = logger
	conv, err := codec.ClientConverters(os.Getenv)
	if err != nil {
		return client.Options{}, fmt.Errorf("payload encryption: %w", err)
	}
	opts.DataConverter, opts.FailureConverter = conv.Data, conv.Failure
	if conv.Codec != nil && logger != nil {
		logger.Info("payloads are encrypted", "keyID", conv.Codec.KeyIDs()[0])
	}
	return opts, nil
}

// Dial connects and checks that the server answers, within timeout. It
// fails with an *UnreachableError.
func Dial(ctx context.Context, opts client.Options, timeout time.Duration) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if host, _, err := net.SplitHostPort(opts.HostPort); err == nil && host != "" && net.ParseIP(host) == nil {
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			return nil, &UnreachableError{Address: opts.HostPort, Namespace: opts.Namespace, Err: fmt.Errorf("host %q does not resolve", host), unresolved: true}
		}
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, &UnreachableError{Address: opts.HostPort, Namespace: opts.Namespace, Err: err}
	}
	return c, nil
}

// UnreachableError is Dial's error: one line naming the address and, from
// where the address came, how to fix it.
type UnreachableError struct {
	Address, Namespace string
	Err                error
	unresolved         bool
}

func (e *UnreachableError) Error() string {
	var fix string
	switch {
	case os.Getenv("TEMPORAL_ADDRESS") != "":
		fix = fmt.Sprintf("check TEMPORAL_ADDRESS (%s)", os.Getenv("TEMPORAL_ADDRESS"))
		if e.Address != os.Getenv("TEMPORAL_ADDRESS") {
			fix = "check the Temporal address (TEMPORAL_ADDRESS, TEMPORAL_PROFILE, the config file)"
		}
		if !e.unresolved {
			fix += ", and that the server is up"
		}
	case os.Getenv("TEMPORAL_PROFILE") != "":
		fix = fmt.Sprintf("check the address of Temporal profile %q, or set TEMPORAL_ADDRESS", os.Getenv("TEMPORAL_PROFILE"))
	default:
		fix = "start one with `docker compose up -d`, or set TEMPORAL_ADDRESS to where yours runs"
	}
	return fmt.Sprintf("cannot reach the Temporal server at %s (namespace %q): %v; %s", e.Address, e.Namespace, e.Err, fix)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// QuietLogger logs only warnings and errors, to w.
func QuietLogger(w io.Writer) log.Logger { return Logger(w, slog.LevelWarn) }

// Logger logs from level up, to w. The SDK's default logger also logs every
// activity it starts (debug level), which drowns a worker's log.
func Logger(w io.Writer, level slog.Level) log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}
