package metrics_test

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/metrics"
	"github.com/llmconc/llmconc/record"
)

// TestTemporalSDKMetricsOnTheSameRegistry: what the Temporal SDK records
// through Metrics.Temporal is served on the same endpoint, under
// Prometheus' names (a counter's _total, a timer's _seconds histogram with
// SDKBuckets), with the SDK's tags as labels.
func TestTemporalSDKMetricsOnTheSameRegistry(t *testing.T) {
	m, srv := serve(t)
	var h client.MetricsHandler = m.Temporal()
	h = h.WithTags(map[string]string{"namespace": "default", "task_queue": "q"})
	h.Counter("temporal_request").Inc(2)
	h.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	h.Gauge("temporal_worker_task_slots_available").Update(7)
	fams, _ := scrape(t, srv.URL())
	if got := value(fams, "temporal_request_total", "namespace=default", "task_queue=q"); got != 2 {
		t.Errorf("temporal_request_total = %v, want 2", got)
	}
	if got := value(fams, "temporal_worker_task_slots_available", "namespace=default", "task_queue=q"); got != 7 {
		t.Errorf("temporal_worker_task_slots_available = %v, want 7", got)
	}
	hist := sample(fams, "temporal_activity_execution_latency_seconds", "namespace=default", "task_queue=q").GetHistogram()
	if hist.GetSampleCount() != 1 || hist.GetSampleSum() != 1.5 {
		t.Fatalf("temporal_activity_execution_latency_seconds: %v, want one sample of 1.5 s", hist)
	}
	if got := bounds(hist); !slices.Equal(got, metrics.SDKBuckets) {
		t.Errorf("the SDK's timer buckets are %v, want %v", got, metrics.SDKBuckets)
	}
	if fams["target_info"] != nil {
		t.Error("target_info is exported")
	}
}

// TestNoAllocationPerRequest: once a pass's and a status's series exist, a
// request costs the metrics no allocation (the worker's CPU per request is
// benchmarked against hey).
func TestNoAllocationPerRequest(t *testing.T) {
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Endpoint("default")
	ttft, remaining := 0.2, 99
	rec := record.Request{Pass: record.PassConcurrent, OK: true, LatencySeconds: 1.5, TTFTSeconds: &ttft,
		RateLimit: &record.RateLimit{RemainingRequests: &remaining, RemainingTokens: &remaining}}
	failed := record.Request{Pass: record.SweepPass(8), ErrorKind: record.ErrorKindRateLimited, HTTPStatus: 429}
	observe := func() {
		e.Started()
		e.Finished(rec)
		e.Started()
		e.Finished(failed)
	}
	observe()
	if n := testing.AllocsPerRun(200, observe); n != 0 {
		t.Errorf("%v allocations per pair of requests, want 0", n)
	}
	if m.Endpoint("default") != e {
		t.Error("Endpoint returns another observer for the same name")
	}
}

// TestStatusAndPassAreBounded: every error kind maps to a status of the
// documented list, an unknown one to "other", and every sweep level to
// "sweep".
func TestStatusAndPassAreBounded(t *testing.T) {
	m, srv := serve(t)
	e := m.Endpoint("x")
	for _, kind := range append(metrics.Statuses[1:], "some_future_kind") {
		e.Started()
		e.Finished(record.Request{Pass: record.Pass("mystery"), ErrorKind: kind, SentAt: time.Now()})
	}
	for _, level := range []int{1, 2, 64, 1000} {
		e.Started()
		e.Finished(record.Request{Pass: record.SweepPass(level), OK: true})
	}
	fams, _ := scrape(t, srv.URL())
	for _, s := range metrics.Statuses[1:] {
		want := 1.0
		if s == record.ErrorKindOther {
			want = 2
		}
		if got := value(fams, metrics.RequestsTotal, "endpoint=x", "pass=other", "status="+s); got != want {
			t.Errorf("status %s: %v, want %v", s, got, want)
		}
	}
	if got := value(fams, metrics.RequestsTotal, "endpoint=x", "pass=sweep", "status=ok"); got != 4 {
		t.Errorf("sweep ok = %v, want 4 (every level in one series)", got)
	}
	if n := len(fams[metrics.RequestsTotal].GetMetric()); n != len(metrics.Statuses) {
		t.Errorf("%d series, want %d", n, len(metrics.Statuses))
	}
}

// TestListenErrorsAreOneLine: a bad address and a port in use are refused
// with one line that says what to do.
func TestListenErrorsAreOneLine(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range []struct{ addr, want string }{
		{"9464", "is not host:port"},
		{"localhost", "is not host:port"},
		{"127.0.0.1:", "the port must be a number"},
		{"127.0.0.1:http", "the port must be a number"},
		{"127.0.0.1:70000", "the port must be a number"},
		{taken.Addr().String(), "address already in use"},
	} {
		srv, err := metrics.Listen(c.addr, nil)
		if err == nil {
			srv.Close(t.Context())
			t.Errorf("Listen(%q) succeeded", c.addr)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("Listen(%q) = %q, want one line saying %q", c.addr, msg, c.want)
		}
	}
}

// BenchmarkRequest is what the metrics cost one request of a concurrent
// pass: Started, then Finished with a streamed success that carried
// rate-limit headers, from as many goroutines as GOMAXPROCS.
func BenchmarkRequest(b *testing.B) {
	m, err := metrics.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	e := m.Endpoint("default")
	ttft, remaining := 0.2, 99
	rec := record.Request{Pass: record.PassConcurrent, OK: true, LatencySeconds: 1.5, TTFTSeconds: &ttft,
		RateLimit: &record.RateLimit{RemainingRequests: &remaining, RemainingTokens: &remaining}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Started()
			e.Finished(rec)
		}
	})
}

// TestURLOfEveryInterface: a server on every interface gives its URL with
// localhost, one on an address with that address.
func TestURLOfEveryInterface(t *testing.T) {
	for addr, prefix := range map[string]string{":0": "http://localhost:", "127.0.0.1:0": "http://127.0.0.1:"} {
		srv, err := metrics.Listen(addr, http.NotFoundHandler())
		if err != nil {
			t.Fatal(err)
		}
		u := srv.URL()
		srv.Close(t.Context())
		if !strings.HasPrefix(u, prefix) || !strings.HasSuffix(u, "/metrics") {
			t.Errorf("Listen(%q).URL() = %q, want %s…/metrics", addr, u, prefix)
		}
	}
}
