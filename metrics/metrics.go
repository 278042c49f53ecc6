// Package metrics is the worker's Prometheus metrics, on one registry served
// at /metrics: the tool's own (requests by endpoint, pass and status,
// latency, time to first token, requests in flight, what the rate-limit
// headers say is left) and the Temporal SDK's, which reach the registry
// through the SDK's OpenTelemetry integration
// (go.temporal.io/sdk/contrib/opentelemetry) and the OpenTelemetry Prometheus
// exporter. An endpoint is named by its allow-list name, never by its URL
// and never with its key. docs/metrics.md lists every metric.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Names of the tool's metrics.
const (
	RequestsTotal           = "llmconc_requests_total"
	RequestDuration         = "llmconc_request_duration_seconds"
	TTFT                    = "llmconc_ttft_seconds"
	InFlight                = "llmconc_in_flight"
	RateLimitRemainingReqs  = "llmconc_rate_limit_remaining_requests"
	RateLimitRemainingToken = "llmconc_rate_limit_remaining_tokens"
)

// Buckets, in seconds. LLM latencies span three orders of magnitude (a
// cached 20-token answer in 100 ms, a long generation in minutes, the
// default request timeout at 2 min), so the buckets are roughly
// logarithmic, denser where chat completions usually fall (0.5 s to 30 s),
// with an edge at every round figure an objective is likely to name (1 s,
// 2 s, 5 s, 10 s, 30 s, 60 s), so that a quantile estimated by
// histogram_quantile is within a bucket's width of the truth.
var (
	// DurationBuckets are those of llmconc_request_duration_seconds: 50 ms
	// to 5 min.
	DurationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300}
	// TTFTBuckets are those of llmconc_ttft_seconds: 25 ms to 1 min, finer
	// below 1 s where time to first token usually is.
	TTFTBuckets = []float64{0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 30, 60}
	// SDKBuckets are those of the Temporal SDK's timers (its *_latency
	// metrics, in seconds): 1 ms (a poll, a workflow task) to 10 min (a
	// batch of slow requests).
	SDKBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
)

// Metrics is the worker's registry and its metrics. Make it with New; it is
// safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	provider *sdkmetric.MeterProvider
	temporal client.MetricsHandler

	requests                           *prometheus.CounterVec
	duration, ttft                     *prometheus.HistogramVec
	inFlight                           *prometheus.GaugeVec
	remainingRequests, remainingTokens *prometheus.GaugeVec

	mu        sync.Mutex
	endpoints map[string]*Endpoint
}

// New returns the worker's metrics on a new registry, with the Go runtime's
// and the process's collectors. onError receives what the Temporal SDK's
// metrics cannot record (nil: it is dropped); the SDK's integration would
// otherwise panic.
func New(onError func(error)) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotal,
			Help: "Chat-completion requests the worker sent, by endpoint (its allow-list name), pass (warmup, sequential, concurrent, sweep, other) and status (ok, or the record's error kind).",
		}, []string{"endpoint", "pass", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    RequestDuration,
			Help:    "Latency of the successful requests, from the send to the complete answer, by endpoint and pass.",
			Buckets: DurationBuckets,
		}, []string{"endpoint", "pass"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    TTFT,
			Help:    "Time to first token of the successful streamed requests, by endpoint and pass.",
			Buckets: TTFTBuckets,
		}, []string{"endpoint", "pass"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: InFlight,
			Help: "Requests in flight (released and not yet answered), by endpoint.",
		}, []string{"endpoint"}),
		remainingRequests: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: RateLimitRemainingReqs,
			Help: "x-ratelimit-remaining-requests of the latest response that carried it, by endpoint.",
		}, []string{"endpoint"}),
		remainingTokens: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: RateLimitRemainingToken,
			Help: "x-ratelimit-remaining-tokens of the latest response that carried it, by endpoint.",
		}, []string{"endpoint"}),
		endpoints: map[string]*Endpoint{},
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.ttft, m.inFlight, m.remainingRequests, m.remainingTokens,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	if err := m.withTemporal(onError); err != nil {
		return nil, err
	}
	return m, nil
}

// withTemporal sets up the Temporal SDK's metrics: its MetricsHandler
// records into an OpenTelemetry meter whose reader is the Prometheus
// exporter on m's registry. Names follow Prometheus' conventions
// (temporal_request_total, temporal_activity_execution_latency_seconds),
// without the OpenTelemetry scope labels or target_info.
func (m *Metrics) withTemporal(onError func(error)) error {
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(m.reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return fmt.Errorf("metrics: the OpenTelemetry Prometheus exporter: %w", err)
	}
	m.provider = sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: SDKBuckets}},
		)),
	)
	if onError == nil {
		onError = func(error) {}
	}
	m.temporal = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                m.provider.Meter("temporal-sdk-go"),
		OnError:              onError,
		UseMonotonicCounters: true,
	})
	return nil
}

// Temporal is the MetricsHandler for the Temporal client's options
// (client.Options.MetricsHandler): the client's and its workers' metrics then
// land on m's registry.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// Gatherer is m's registry, for tests and for other handlers.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves m's registry in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, EnableOpenMetrics: true})
}

// Close flushes and stops the Temporal SDK's meter.
func (m *Metrics) Close(ctx context.Context) error { return m.provider.Shutdown(ctx) }

// Endpoint returns the observer of the named endpoint's requests (a
// chat.Observer), the same one for the same name. Its in-flight gauge is 0
// from now on; its other series appear with its first request.
func (m *Metrics) Endpoint(name string) *Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.endpoints[name]; e != nil {
		return e
	}
	e := &Endpoint{m: m, name: name, inFlight: m.inFlight.WithLabelValues(name)}
	m.endpoints[name] = e
	return e
}
