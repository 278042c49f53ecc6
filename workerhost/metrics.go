package workerhost

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/metrics"
)

// EnvMetricsAddr, when set, is where the worker serves its Prometheus
// metrics (host:port, such as 127.0.0.1:9464): the tool's and the Temporal
// SDK's, at /metrics (see docs/metrics.md). Unset, it serves none.
const EnvMetricsAddr = "LLMCONC_METRICS_ADDR"

// serveMetrics starts the metrics when EnvMetricsAddr is set: the Temporal
// client's options then record the SDK's metrics into them, and cfg's
// endpoints report their requests to them. stop is never nil.
func serveMetrics(getenv func(string) string, opts *client.Options, cfg *Config, logf func(format string, args ...any)) (stop func(), err error) {
	addr := strings.TrimSpace(getenv(EnvMetricsAddr))
	if addr == "" {
		return func() {}, nil
	}
	m, stop, err := startMetrics(addr, logf)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler, cfg.Metrics = m.Temporal(), m
	return stop, nil
}

// startMetrics makes the worker's metrics and serves them on addr. Its
// error is a ConfigError of one line; stop stops the server and the SDK's
// meter.
func startMetrics(addr string, logf func(format string, args ...any)) (m *metrics.Metrics, stop func(), err error) {
	var once sync.Once
	m, err = metrics.New(func(err error) {
		// Said once: a broken meter would otherwise repeat it at every
		// measurement.
		once.Do(func() { logf("worker: warning: a Temporal SDK metric could not be recorded: %v", err) })
	})
	if err != nil {
		return nil, nil, err
	}
	srv, err := metrics.Listen(addr, m.Handler())
	if err != nil {
		return nil, nil, &ConfigError{[]string{EnvMetricsAddr + ": " + err.Error()}}
	}
	logf("worker: serving Prometheus metrics at %s", srv.URL())
	return m, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		_ = m.Close(ctx)
	}, nil
}

// observer is the metrics' observer of the named endpoint's requests, or
// nil without metrics.
func observer(m *metrics.Metrics, endpoint string) chat.Observer {
	if m == nil {
		return nil
	}
	return m.Endpoint(endpoint)
}
