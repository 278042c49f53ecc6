package activities_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/workerhost"
)

const (
	testKey   = "sk-test-SECRET-0123456789abcdef"
	testModel = "sim-model"
)

// startSim starts a simulator on loopback and closes it when the test ends.
func startSim(t *testing.T, cfg simulator.Config) (*simulator.Server, string) {
	t.Helper()
	sim := simulator.New(cfg)
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim, base
}

// newActs returns the activities for base with key, as the worker builds them.
func newActs(key, base string) *activities.Activities {
	return workerhost.NewActivities(workerhost.Config{APIKey: key, BaseURL: base})
}

// send runs Activities.Send in Temporal's activity test environment.
func send(t *testing.T, acts *activities.Activities, in activities.SendInput) activities.SendOutput {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	activities.Register(env, acts)
	val, err := env.ExecuteActivity(acts.Send, in)
	if err != nil {
		t.Fatalf("Send failed: %v", err)
	}
	var out activities.SendOutput
	if err := val.Get(&out); err != nil {
		t.Fatalf("decode SendOutput: %v", err)
	}
	return out
}

// specs returns n numbered requests; distinct prompts get distinct
// simulator outcomes.
func specs(n int) []activities.RequestSpec {
	out := make([]activities.RequestSpec, n)
	for i := range out {
		out[i] = activities.RequestSpec{Index: i, Prompt: fmt.Sprintf("Say hello to test number %d", i)}
	}
	return out
}

func batch(n int) activities.SendInput {
	return activities.SendInput{
		Pass:           record.PassSequential,
		Requests:       specs(n),
		Model:          testModel,
		MaxTokens:      7,
		Concurrency:    1,
		RequestTimeout: 10 * time.Second,
	}
}

// parseTime returns a record's time, failing the test if it is missing or
// would not survive the JSON (RFC 3339 with nanoseconds, UTC).
func parseTime(t *testing.T, what string, v time.Time) time.Time {
	t.Helper()
	if v.IsZero() || v.Location() != time.UTC {
		t.Fatalf("%s %v: want a UTC time", what, v)
	}
	return v
}

func onlyRecord(t *testing.T, out activities.SendOutput) record.Request {
	t.Helper()
	if len(out.Records) != 1 {
		t.Fatalf("got %d records, want 1: %+v", len(out.Records), out.Records)
	}
	return out.Records[0]
}

func TestSendSuccess(t *testing.T) {
	const latency = 100 * time.Millisecond
	sim, base := startSim(t, simulator.Config{Latency: latency, APIKey: testKey})
	in := batch(1)
	in.Requests = []activities.RequestSpec{{Index: 3, Prompt: "Say hello to the test"}}

	rec := onlyRecord(t, send(t, newActs(testKey, base), in))

	if !rec.OK || rec.HTTPStatus != http.StatusOK || rec.Error != "" {
		t.Fatalf("want ok with HTTP 200 and no error, got ok=%v status=%d error=%q", rec.OK, rec.HTTPStatus, rec.Error)
	}
	sent := parseTime(t, "sent_at", rec.SentAt)
	received := parseTime(t, "received_at", rec.ReceivedAt)
	if !received.After(sent) {
		t.Errorf("received_at %s is not after sent_at %s", rec.ReceivedAt, rec.SentAt)
	}
	if d := math.Abs(rec.LatencySeconds - received.Sub(sent).Seconds()); d > 0.005 {
		t.Errorf("latency_seconds %.6f differs from received-sent %.6f by %.6f", rec.LatencySeconds, received.Sub(sent).Seconds(), d)
	}
	if rec.LatencySeconds < latency.Seconds() {
		t.Errorf("latency_seconds %.3f is below the simulator's latency %s", rec.LatencySeconds, latency)
	}
	// The simulator counts words: 5 prompt words + 3 for the message + 3
	// for priming the reply; the completion is capped by max_tokens.
	if rec.PromptTokens != 11 || rec.CompletionTokens != 7 {
		t.Errorf("tokens: got prompt=%d completion=%d, want 11 and 7", rec.PromptTokens, rec.CompletionTokens)
	}
	if n := len(strings.Fields(rec.Response)); n != 7 {
		t.Errorf("response %q has %d words, want the 7 generated tokens", rec.Response, n)
	}
	if rec.Attempt != 1 {
		t.Errorf("attempt = %d, want 1", rec.Attempt)
	}
	if rec.Model != testModel {
		t.Errorf("model = %q, want %q", rec.Model, testModel)
	}
	if rec.Index != 3 || rec.Pass != record.PassSequential || rec.Prompt != "Say hello to the test" {
		t.Errorf("record does not carry its spec: index=%d pass=%q prompt=%q", rec.Index, rec.Pass, rec.Prompt)
	}
	if rec.DispatchDelaySeconds != 0 {
		t.Errorf("dispatch_delay_seconds = %v without a FireAt, want 0", rec.DispatchDelaySeconds)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Errorf("simulator saw %d requests, want 1", got)
	}
}

func TestSendHTTPErrors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    simulator.Config
		key    string
		model  string
		status int
	}{
		{name: "wrong key", cfg: simulator.Config{APIKey: testKey}, key: "sk-wrong-key-9876543210", status: 401},
		{name: "unknown model", cfg: simulator.Config{APIKey: testKey}, model: "no-such-model", status: 404},
		{name: "500", cfg: simulator.Config{APIKey: testKey, Faults: simulator.Faults{Error500: 1}}, status: 500},
		{name: "503", cfg: simulator.Config{APIKey: testKey, Faults: simulator.Faults{Error503: 1}}, status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, base := startSim(t, tc.cfg)
			key := testKey
			if tc.key != "" {
				key = tc.key
			}
			in := batch(1)
			if tc.model != "" {
				in.Model = tc.model
			}
			rec := onlyRecord(t, send(t, newActs(key, base), in))
			if rec.OK {
				t.Fatalf("want ok=false, got %+v", rec)
			}
			if rec.HTTPStatus != tc.status {
				t.Errorf("http_status = %d, want %d", rec.HTTPStatus, tc.status)
			}
			if !strings.Contains(rec.Error, fmt.Sprint(tc.status)) {
				t.Errorf("error %q does not mention %d", rec.Error, tc.status)
			}
			if strings.Contains(rec.Error, key) {
				t.Errorf("error %q contains the API key", rec.Error)
			}
			// Each request is sent exactly once: no retry by go-openai or
			// the transport.
			if got := sim.Stats().Requests; got != 1 {
				t.Errorf("simulator saw %d requests for 1 sent", got)
			}
		})
	}
}

func TestSendRateLimitedIsNotRetried(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey, RateLimit: 2, RateWindow: time.Minute})
	out := send(t, newActs(testKey, base), batch(4))
	if len(out.Records) != 4 {
		t.Fatalf("got %d records, want 4", len(out.Records))
	}
	var limited, ok int
	for _, r := range out.Records {
		switch {
		case r.OK && r.HTTPStatus == 200:
			ok++
		case !r.OK && r.HTTPStatus == 429:
			limited++
			if !strings.Contains(r.Error, "429") {
				t.Errorf("error of a 429 record does not mention 429: %q", r.Error)
			}
		default:
			t.Errorf("unexpected record: ok=%v status=%d error=%q", r.OK, r.HTTPStatus, r.Error)
		}
	}
	if ok != 2 || limited != 2 {
		t.Errorf("got %d ok and %d 429 records, want 2 and 2", ok, limited)
	}
	st := sim.Stats()
	if st.Requests != 4 {
		t.Errorf("simulator saw %d requests for 4 sent: a 429 was retried", st.Requests)
	}
	if st.StatusCounts[429] != 2 {
		t.Errorf("simulator answered %d times 429, want 2", st.StatusCounts[429])
	}
}

func TestSendServerErrorsAreNotRetried(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey, Faults: simulator.Faults{Error500: 1}})
	out := send(t, newActs(testKey, base), batch(3))
	if len(out.Records) != 3 {
		t.Fatalf("got %d records, want 3", len(out.Records))
	}
	for _, r := range out.Records {
		if r.OK || r.HTTPStatus != 500 {
			t.Errorf("want a failed 500 record, got ok=%v status=%d", r.OK, r.HTTPStatus)
		}
	}
	if got := sim.Stats().Requests; got != 3 {
		t.Errorf("simulator saw %d requests for 3 sent: a 500 was retried", got)
	}
}

func TestSendDroppedConnection(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey, Faults: simulator.Faults{Drop: 1}})
	rec := onlyRecord(t, send(t, newActs(testKey, base), batch(1)))
	if rec.OK || rec.HTTPStatus != 0 {
		t.Fatalf("want ok=false and http_status 0, got ok=%v status=%d", rec.OK, rec.HTTPStatus)
	}
	// A transport error, as net/http words it: Post "<url>": EOF.
	if !strings.HasPrefix(rec.Error, "Post ") || !strings.Contains(rec.Error, "/chat/completions") {
		t.Errorf("error %q is not the transport error", rec.Error)
	}
	if strings.Contains(rec.Error, "timeout") {
		t.Errorf("a dropped connection is reported as a timeout: %q", rec.Error)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Errorf("simulator saw %d requests for 1 sent", got)
	}
}

func TestSendStallHitsRequestTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, base := startSim(t, simulator.Config{APIKey: testKey, Faults: simulator.Faults{Stall: 1}})
	in := batch(1)
	in.RequestTimeout = timeout
	rec := onlyRecord(t, send(t, newActs(testKey, base), in))
	if rec.OK || rec.HTTPStatus != 0 {
		t.Fatalf("want ok=false and http_status 0, got ok=%v status=%d", rec.OK, rec.HTTPStatus)
	}
	if !strings.Contains(rec.Error, "no answer within the request timeout") || !strings.Contains(rec.Error, timeout.String()) {
		t.Errorf("error %q does not say that no answer came within the request timeout (%s)", rec.Error, timeout)
	}
	// The timeout's clock starts just before sent_at is taken, so the
	// latency may fall short of it by the time it takes to build the request.
	if rec.LatencySeconds < (timeout - 20*time.Millisecond).Seconds() {
		t.Errorf("latency_seconds %.3f is well below the request timeout %s", rec.LatencySeconds, timeout)
	}
}

func TestSendNonJSONErrorBody(t *testing.T) {
	// A proxy in front of the endpoint may answer with a body that is not
	// OpenAI's error object.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>")
	}))
	defer ts.Close()
	rec := onlyRecord(t, send(t, newActs(testKey, ts.URL+"/v1"), batch(1)))
	if rec.OK || rec.HTTPStatus != http.StatusBadGateway {
		t.Fatalf("want ok=false with HTTP 502, got ok=%v status=%d", rec.OK, rec.HTTPStatus)
	}
	if !strings.Contains(rec.Error, "502") || !strings.Contains(rec.Error, "bad gateway") {
		t.Errorf("error %q does not give the status and the body", rec.Error)
	}
}

func TestSendConcurrentAtFireAt(t *testing.T) {
	const n = 8
	sim, base := startSim(t, simulator.Config{APIKey: testKey, Latency: 200 * time.Millisecond})
	in := batch(n)
	in.Pass = record.PassConcurrent
	in.Concurrency = n
	in.FireAt = time.Now().Add(300 * time.Millisecond)

	out := send(t, newActs(testKey, base), in)

	if got := sim.Stats().MaxInFlight; got != n {
		t.Errorf("simulator MaxInFlight = %d, want %d", got, n)
	}
	seen := map[int]bool{}
	for _, r := range out.Records {
		if !r.OK {
			t.Errorf("request %d failed: %s", r.Index, r.Error)
		}
		if seen[r.Index] {
			t.Errorf("request %d recorded twice", r.Index)
		}
		seen[r.Index] = true
		sent := parseTime(t, "sent_at", r.SentAt)
		if sent.Before(in.FireAt) {
			t.Errorf("request %d sent at %s, before FireAt %s", r.Index, r.SentAt, in.FireAt.UTC().Format(time.RFC3339Nano))
		}
		if r.DispatchDelaySeconds < 0 {
			t.Errorf("request %d: dispatch_delay_seconds %v < 0", r.Index, r.DispatchDelaySeconds)
		}
		if want := sent.Sub(in.FireAt).Seconds(); math.Abs(r.DispatchDelaySeconds-want) > 1e-6 {
			t.Errorf("request %d: dispatch_delay_seconds %v, want sent_at-FireAt = %v", r.Index, r.DispatchDelaySeconds, want)
		}
		if r.Pass != record.PassConcurrent {
			t.Errorf("request %d: pass %q", r.Index, r.Pass)
		}
	}
	if len(out.Records) != n || len(seen) != n {
		t.Errorf("got %d records for %d distinct requests, want %d", len(out.Records), len(seen), n)
	}
}

func TestSendConcurrencyCap(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey, Latency: 100 * time.Millisecond})
	in := batch(6)
	in.Pass = record.PassConcurrent
	in.Concurrency = 2
	in.FireAt = time.Now().Add(100 * time.Millisecond)
	out := send(t, newActs(testKey, base), in)
	if len(out.Records) != 6 {
		t.Fatalf("got %d records, want 6", len(out.Records))
	}
	if got := sim.Stats().MaxInFlight; got != 2 {
		t.Errorf("simulator MaxInFlight = %d with Concurrency 2, want 2", got)
	}
}

// A concurrent batch opens its connections before FireAt and sends on them:
// the server accepts exactly one connection per request in flight, not the
// pre-opened ones plus new ones.
func TestSendUsesPreopenedConnections(t *testing.T) {
	const n = 6
	sim := simulator.New(simulator.Config{APIKey: testKey, Latency: 100 * time.Millisecond})
	ts := httptest.NewUnstartedServer(sim)
	var accepted atomic.Int32
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(func() {
		_ = sim.Close()
		ts.Close()
	})
	in := batch(n)
	in.Pass = record.PassConcurrent
	in.Concurrency = n
	in.FireAt = time.Now().Add(300 * time.Millisecond)
	out := send(t, newActs(testKey, ts.URL+"/v1"), in)
	for _, r := range out.Records {
		if !r.OK {
			t.Errorf("request %d failed: %s", r.Index, r.Error)
		}
	}
	if got := accepted.Load(); got != n {
		t.Errorf("server accepted %d connections for %d concurrent requests, want %d", got, n, n)
	}
}

func TestSendStopOnFatal(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey})
	in := batch(6)
	in.StopOnFatal = true
	out := send(t, newActs("sk-wrong-key-9876543210", base), in)
	rec := onlyRecord(t, out)
	if rec.HTTPStatus != 401 || rec.OK {
		t.Errorf("want a failed 401 record, got ok=%v status=%d", rec.OK, rec.HTTPStatus)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Errorf("simulator saw %d requests, want 1: the batch went on after a 401", got)
	}
}

func TestSendWithoutStopOnFatalSendsAll(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey})
	out := send(t, newActs("sk-wrong-key-9876543210", base), batch(3))
	if len(out.Records) != 3 {
		t.Errorf("got %d records, want 3", len(out.Records))
	}
	if got := sim.Stats().Requests; got != 3 {
		t.Errorf("simulator saw %d requests, want 3", got)
	}
}

func TestKeyNeverInResults(t *testing.T) {
	_, okBase := startSim(t, simulator.Config{APIKey: testKey})
	_, errBase := startSim(t, simulator.Config{APIKey: testKey, Faults: simulator.Faults{Error500: 1}})
	for _, base := range []string{okBase, errBase} {
		out := send(t, newActs(testKey, base), batch(2))
		if len(out.Records) != 2 {
			t.Fatalf("got %d records, want 2", len(out.Records))
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), testKey) {
			t.Errorf("the API key appears in the result: %s", b)
		}
	}

	// A rejected key is not echoed either.
	const wrong = "sk-wrong-key-9876543210"
	out := send(t, newActs(wrong, okBase), batch(1))
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), wrong) {
		t.Errorf("the rejected API key appears in the result: %s", b)
	}

	acts := newActs(testKey, okBase)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	activities.Register(env, acts)
	val, err := env.ExecuteActivity(acts.DescribeEndpoint, activities.DescribeInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ep record.Endpoint
	if err := val.Get(&ep); err != nil {
		t.Fatal(err)
	}
	if ep.BaseURL != okBase {
		t.Errorf("endpoint base URL = %q, want %q", ep.BaseURL, okBase)
	}
	b, err = json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), testKey) {
		t.Errorf("the API key appears in the endpoint: %s", b)
	}
}

func TestSendWithoutClientFails(t *testing.T) {
	acts := &activities.Activities{}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	activities.Register(env, acts)
	_, err := env.ExecuteActivity(acts.Send, batch(1))
	if err == nil || !strings.Contains(err.Error(), "no OpenAI client") {
		t.Errorf("Send without a client: err = %v, want one saying there is no OpenAI client", err)
	}
}
