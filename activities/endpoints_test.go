package activities_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/workerhost"
)

// countedSim is a simulator that requires key, with a count of the TCP
// connections it accepted.
type countedSim struct {
	*simulator.Server
	base     string
	accepted atomic.Int32
}

func startCountedSim(t *testing.T, key string) *countedSim {
	t.Helper()
	s := &countedSim{Server: simulator.New(simulator.Config{APIKey: key, Latency: 100 * time.Millisecond})}
	ts := httptest.NewUnstartedServer(s.Server)
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.accepted.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(func() {
		_ = s.Close()
		ts.Close()
	})
	s.base = ts.URL + "/v1"
	return s
}

// TestSendRoutesByEndpointName: a worker with two allow-listed endpoints
// (two simulators, each requiring its own key) sends each batch to the
// endpoint its input names, with that endpoint's key and over that
// endpoint's pre-opened connections; a name it does not serve fails the
// activity, not retryably, before any request.
func TestSendRoutesByEndpointName(t *testing.T) {
	const keyA, keyB = "sk-a-SECRET-0123456789", "sk-b-SECRET-9876543210"
	simA, simB := startCountedSim(t, keyA), startCountedSim(t, keyB)
	acts := workerhost.NewActivities(workerhost.Config{Endpoints: []workerhost.Endpoint{
		{Name: "a", BaseURL: simA.base, APIKey: keyA},
		{Name: "b", BaseURL: simB.base, APIKey: keyB},
	}})

	in := batch(2)
	in.Endpoint = "a"
	for _, r := range send(t, acts, in).Records {
		if !r.OK {
			t.Errorf("endpoint a, request %d: %s (HTTP %d)", r.Index, r.Error, r.HTTPStatus)
		}
	}
	if a, b := simA.Stats(), simB.Stats(); a.StatusCounts[200] != 2 || a.Requests != 2 || b.Requests != 0 {
		t.Errorf("after 2 requests to a: a saw %d requests %v, b saw %d; want 2 × 200 on a, none on b", a.Requests, a.StatusCounts, b.Requests)
	}

	// A concurrent batch to b: its connections are opened before the
	// instant, on b's own pool, and used.
	const n = 4
	in = batch(n)
	in.Endpoint = "b"
	in.Pass = record.PassConcurrent
	in.Concurrency = n
	in.FireAt = time.Now().Add(300 * time.Millisecond)
	for _, r := range send(t, acts, in).Records {
		if !r.OK {
			t.Errorf("endpoint b, request %d: %s (HTTP %d)", r.Index, r.Error, r.HTTPStatus)
		}
	}
	if a, b := simA.Stats(), simB.Stats(); b.StatusCounts[200] != n || b.MaxInFlight != n || a.Requests != 2 {
		t.Errorf("after %d concurrent requests to b: b saw %v, max in flight %d; a saw %d requests (want still 2)", n, b.StatusCounts, b.MaxInFlight, a.Requests)
	}
	if got := simB.accepted.Load(); got != n {
		t.Errorf("b accepted %d connections for %d concurrent requests, want exactly %d (the pre-opened ones)", got, n, n)
	}

	for _, name := range []string{"nope", "", record.DefaultEndpoint} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		activities.Register(env, acts)
		in := batch(1)
		in.Endpoint = name
		_, err := env.ExecuteActivity(acts.Send, in)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != activities.UnknownEndpointErrorType || !appErr.NonRetryable() {
			t.Errorf("Send to %q: err = %v, want a non-retryable %s", name, err, activities.UnknownEndpointErrorType)
			continue
		}
		if !strings.Contains(appErr.Message(), "it serves a, b") {
			t.Errorf("Send to %q: message %q does not list the endpoints served", name, appErr.Message())
		}
		for _, key := range []string{keyA, keyB} {
			if strings.Contains(appErr.Message(), key) {
				t.Errorf("the error carries a key: %s", appErr.Message())
			}
		}
	}
	if a, b := simA.Stats(), simB.Stats(); a.Requests != 2 || b.Requests != 2*n || b.ChatRequests != n {
		t.Errorf("unknown endpoints sent requests: a saw %d (want 2), b saw %d, %d of them chat requests (want %d: %d model lists asked for by the connections opened ahead, and %d chat requests)", a.Requests, b.Requests, b.ChatRequests, 2*n, n, n)
	}
}
