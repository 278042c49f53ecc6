package metrics_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/metrics"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

const testKey = "sk-metrics-test-SECRET-0123456789abcdef"

// serve makes the metrics and serves them on a free loopback port until the
// test ends.
func serve(t *testing.T) (*metrics.Metrics, *metrics.Server) {
	t.Helper()
	m, err := metrics.New(func(err error) { t.Errorf("SDK metric error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := m.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return m, srv
}

// sender is a chat.Sender of the simulator at base, as the worker builds
// one, with obs as its observer.
func sender(base string, obs chat.Observer) *chat.Sender {
	pool := &measure.ConnPool{}
	oc := openai.DefaultConfig(testKey)
	oc.BaseURL = base
	oc.HTTPClient = measure.NewHTTPClient(pool)
	return &chat.Sender{Client: openai.NewClientWithConfig(oc), BaseURL: base, Pool: pool, Redactor: measure.NewRedactor(testKey), Observer: obs}
}

func startSim(t *testing.T, cfg simulator.Config) string {
	t.Helper()
	cfg.APIKey = testKey
	sim := simulator.New(cfg)
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return base
}

// scrape GETs url and parses the Prometheus text format; it also returns
// the body.
func scrape(t *testing.T, url string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: HTTP %d, %v", url, resp.StatusCode, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, body)
	}
	return fams, string(body)
}

// sample returns the metric of family name whose labels are exactly
// labels (name=value pairs), or nil.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	want := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		want[k] = v
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			if want[lp.GetName()] != lp.GetValue() {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

// value is a counter's or a gauge's value, or a histogram's count; -1 when
// there is no such series.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := sample(fams, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// bounds are a histogram's finite bucket bounds.
func bounds(h *dto.Histogram) []float64 {
	var out []float64
	for _, b := range h.GetBucket() {
		if !math.IsInf(b.GetUpperBound(), 1) {
			out = append(out, b.GetUpperBound())
		}
	}
	return out
}

func prompts(texts ...string) []chat.Prompt {
	out := make([]chat.Prompt, len(texts))
	for i, s := range texts {
		out[i] = chat.Prompt{Index: i, Text: s}
	}
	return out
}

// TestRequestsThroughTheEndpoint sends real requests to the simulator
// through a chat.Sender observed by the metrics, scrapes /metrics over
// HTTP, and checks every metric of the tool by name, labels and value:
// requests by pass and status, latency and TTFT histograms of the
// successes, nothing left in flight, the rate-limit headers of the last
// response; and that no key and no URL are in the scrape.
func TestRequestsThroughTheEndpoint(t *testing.T) {
	m, srv := serve(t)
	base := startSim(t, simulator.Config{Latency: 20 * time.Millisecond, TTFT: 10 * time.Millisecond, RateLimit: 1000, Seed: 1})
	s := sender(base, m.Endpoint("local"))
	var last record.Request
	send := func(pass record.Pass, stream bool, ps []chat.Prompt) {
		t.Helper()
		err := s.SendBatch(t.Context(), chat.Batch{
			Params:      chat.Params{Pass: pass, Model: "sim-model", MaxTokens: 5, Stream: stream, Timeout: 10 * time.Second},
			Prompts:     ps,
			Concurrency: 1,
			OnAnswer:    func(rec record.Request) error { last = rec; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	send(record.PassConcurrent, false, prompts("a [fault:error500]", "b [fault:error429]", "c"))
	send(record.SweepPass(4), false, prompts("d"))
	send(record.PassSequential, true, prompts("e", "f", "g"))

	fams, body := scrape(t, srv.URL())
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{metrics.RequestsTotal, []string{"endpoint=local", "pass=sequential", "status=ok"}, 3},
		{metrics.RequestsTotal, []string{"endpoint=local", "pass=concurrent", "status=ok"}, 1},
		{metrics.RequestsTotal, []string{"endpoint=local", "pass=concurrent", "status=http_5xx"}, 1},
		{metrics.RequestsTotal, []string{"endpoint=local", "pass=concurrent", "status=rate_limited"}, 1},
		{metrics.RequestsTotal, []string{"endpoint=local", "pass=sweep", "status=ok"}, 1},
		// Histograms of the successes only.
		{metrics.RequestDuration, []string{"endpoint=local", "pass=sequential"}, 3},
		{metrics.RequestDuration, []string{"endpoint=local", "pass=concurrent"}, 1},
		{metrics.TTFT, []string{"endpoint=local", "pass=sequential"}, 3},
		{metrics.InFlight, []string{"endpoint=local"}, 0},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := len(fams[metrics.RequestsTotal].GetMetric()); n != 5 {
		t.Errorf("%s has %d series, want 5 (one per pass and status seen)", metrics.RequestsTotal, n)
	}
	if sample(fams, metrics.TTFT, "endpoint=local", "pass=concurrent") != nil {
		t.Errorf("%s has a series for the non-streamed pass", metrics.TTFT)
	}
	rl := last.RateLimit
	if rl == nil || rl.RemainingRequests == nil || rl.RemainingTokens == nil {
		t.Fatalf("the simulator's last response has no rate-limit headers: %+v", last)
	}
	if got := value(fams, metrics.RateLimitRemainingReqs, "endpoint=local"); got != float64(*rl.RemainingRequests) {
		t.Errorf("%s = %v, want the last response's %d", metrics.RateLimitRemainingReqs, got, *rl.RemainingRequests)
	}
	if got := value(fams, metrics.RateLimitRemainingToken, "endpoint=local"); got != float64(*rl.RemainingTokens) {
		t.Errorf("%s = %v, want the last response's %d", metrics.RateLimitRemainingToken, got, *rl.RemainingTokens)
	}
	// The latency histogram's buckets are the documented ones, and its sum
	// is the records' latencies.
	h := sample(fams, metrics.RequestDuration, "endpoint=local", "pass=sequential").GetHistogram()
	if got := bounds(h); !slices.Equal(got, metrics.DurationBuckets) {
		t.Errorf("buckets %v, want %v", got, metrics.DurationBuckets)
	}
	if h.GetSampleSum() <= 0 || h.GetSampleSum() > 30 {
		t.Errorf("latency sum %v s for 3 requests of 20 ms", h.GetSampleSum())
	}
	for _, secret := range []string{testKey, strings.TrimPrefix(base, "http://")} {
		if strings.Contains(body, secret) {
			t.Errorf("the scrape holds %q", secret)
		}
	}
	want := []string{"go_goroutines"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_resident_memory_bytes")
	}
	for _, name := range want {
		if fams[name] == nil {
			t.Errorf("the scrape lacks %s", name)
		}
	}
}

// TestInFlightWhileSending scrapes while requests are held by the
// simulator: llmconc_in_flight counts them; once their context ends they
// count as cancelled and nothing is left in flight.
func TestInFlightWhileSending(t *testing.T) {
	m, srv := serve(t)
	base := startSim(t, simulator.Config{Latency: 10 * time.Millisecond, Seed: 1})
	s := sender(base, m.Endpoint("slow"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.SendBatch(ctx, chat.Batch{
			Params:      chat.Params{Pass: record.PassConcurrent, Model: "sim-model", MaxTokens: 5, Timeout: time.Minute},
			Prompts:     prompts("a [fault:stall]", "b [fault:stall]", "c [fault:stall]"),
			Concurrency: 3,
		})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams, _ := scrape(t, srv.URL())
		if value(fams, metrics.InFlight, "endpoint=slow") == 3 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("in flight never reached 3: %v", value(fams, metrics.InFlight, "endpoint=slow"))
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising on time
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("SendBatch returned no error after its context ended")
	}
	fams, _ := scrape(t, srv.URL())
	if got := value(fams, metrics.InFlight, "endpoint=slow"); got != 0 {
		t.Errorf("in flight after the batch = %v, want 0", got)
	}
	if got := value(fams, metrics.RequestsTotal, "endpoint=slow", "pass=concurrent", "status=cancelled"); got != 3 {
		t.Errorf("cancelled requests = %v, want 3", got)
	}
}
