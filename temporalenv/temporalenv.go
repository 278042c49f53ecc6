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

// Dial connects and checks that the server answers, within timeout.
func Dial(ctx context.Context, opts client.Options, timeout time.Duration) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Temporal server at %s (namespace %q): %v; start one with `docker compose up -d`, set TEMPORAL_ADDRESS, or run the demo with -dev",
			opts.HostPort, opts.Namespace, err)
	}
	return c, nil
}

// QuietLogger logs only warnings and errors, to w.
func QuietLogger(w io.Writer) log.Logger { return Logger(w, slog.LevelWarn) }

// Logger logs from level up, to w. The SDK's default logger also logs every
// activity it starts (debug level), which drowns a worker's log.
func Logger(w io.Writer, level slog.Level) log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}
