package activities_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/workerhost"
)

// TestSendResumesFromHeartbeat runs a batch as Temporal's retry after a lost
// worker would: with the last heartbeat of the lost attempt, which had
// answered request 0 and sent request 1. Request 0 is kept as it was, not
// sent again; 1 is sent again and marked resent; 2 is sent for the first
// time.
func TestSendResumesFromHeartbeat(t *testing.T) {
	sim, base := startSim(t, simulator.Config{Latency: 20 * time.Millisecond, APIKey: testKey})
	kept := record.Request{Index: 0, Pass: record.PassConcurrent, Prompt: "p0", SentAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC), LatencySeconds: 2, OK: true, HTTPStatus: 200, Attempt: 1, ActivityAttempt: 1, Response: "kept"}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	acts := newActs(testKey, base)
	activities.Register(env, acts)
	env.SetHeartbeatDetails(activities.SendProgress{Records: []record.Request{kept}, InFlight: []int{1}})
	in := batch(3)
	in.Pass = record.PassConcurrent
	in.Concurrency = 3
	in.FireAt = time.Now().Add(-time.Minute) // the lost attempt's instant, long past
	val, err := env.ExecuteActivity(acts.Send, in)
	if err != nil {
		t.Fatalf("Send failed: %v", err)
	}
	var out activities.SendOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	byIndex := map[int]record.Request{}
	for _, r := range out.Records {
		if _, dup := byIndex[r.Index]; dup {
			t.Errorf("request %d recorded twice", r.Index)
		}
		byIndex[r.Index] = r
	}
	if len(byIndex) != 3 {
		t.Fatalf("got records for %d requests, want 3: %+v", len(byIndex), out.Records)
	}
	if got := byIndex[0]; got.SentAt != kept.SentAt || got.Response != "kept" || got.Resent {
		t.Errorf("request 0 = %+v, want the lost attempt's record as it was", got)
	}
	for idx, wantResent := range map[int]bool{1: true, 2: false} {
		r := byIndex[idx]
		if !r.OK || r.Resent != wantResent || r.Attempt != 1 || r.ActivityAttempt != 1 {
			t.Errorf("request %d: ok %v resent %v attempt %d activity_attempt %d; want ok, resent %v, attempt 1 (the test environment's activity attempt is 1)",
				idx, r.OK, r.Resent, r.Attempt, r.ActivityAttempt, wantResent)
		}
		if r.DispatchDelaySeconds < 59 {
			t.Errorf("request %d: dispatch_delay_seconds %.3f, want the minute since the common instant", idx, r.DispatchDelaySeconds)
		}
	}
	if got := sim.Stats().Requests; got != 2 {
		t.Errorf("simulator saw %d requests, want 2: the answered request must not be sent again", got)
	}
}

// TestSendHeartbeatsProgress checks what a lost attempt leaves behind: the
// batch's heartbeats carry the records answered so far and the requests in
// flight, so that a retry can resume (see TestSendResumesFromHeartbeat).
func TestSendHeartbeatsProgress(t *testing.T) {
	_, base := startSim(t, simulator.Config{Latency: 150 * time.Millisecond, APIKey: testKey})
	acts := workerhost.NewActivities(workerhost.Config{APIKey: testKey, BaseURL: base})
	acts.HeartbeatEvery = 10 * time.Millisecond

	var (
		mu   sync.Mutex
		seen []activities.SendProgress
	)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	// The test environment throttles heartbeats by 30 s whatever the
	// worker options: the interceptor sees every one the batch records.
	opts := workerhost.Options()
	opts.Interceptors = []interceptor.WorkerInterceptor{&heartbeatSpy{record: func(details []any) {
		b, err := json.Marshal(details[0])
		if err != nil {
			t.Errorf("encode heartbeat details: %v", err)
			return
		}
		var p activities.SendProgress
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("heartbeat details do not decode as SendProgress: %v", err)
			return
		}
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}}}
	env.SetWorkerOptions(opts)
	activities.Register(env, acts)
	in := batch(3) // one at a time: 0, then 1, then 2
	val, err := env.ExecuteActivity(acts.Send, in)
	if err != nil {
		t.Fatalf("Send failed: %v", err)
	}
	var out activities.SendOutput
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 3 {
		t.Fatalf("got %d records, want 3", len(out.Records))
	}
	mu.Lock()
	defer mu.Unlock()
	// Some heartbeat must show request 0 answered, exactly as the result
	// has it, while request 1 was in flight.
	found := false
	for _, p := range seen {
		if len(p.Records) == 1 && len(p.InFlight) == 1 && p.InFlight[0] == 1 {
			found = true
			if got, want := p.Records[0], out.Records[0]; got.Index != 0 || got.SentAt != want.SentAt || got.Response != want.Response {
				t.Errorf("heartbeat record %+v differs from the result's %+v", got, want)
			}
		}
	}
	if !found {
		t.Errorf("no heartbeat showed request 0 answered and request 1 in flight; heartbeats: %+v", seen)
	}
}

// heartbeatSpy passes every heartbeat's details to record.
type heartbeatSpy struct {
	interceptor.WorkerInterceptorBase
	record func(details []any)
}

func (h *heartbeatSpy) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &heartbeatSpyInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, record: h.record}
}

type heartbeatSpyInbound struct {
	interceptor.ActivityInboundInterceptorBase
	record func(details []any)
}

func (h *heartbeatSpyInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return h.Next.Init(&heartbeatSpyOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, record: h.record})
}

type heartbeatSpyOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	record func(details []any)
}

func (h *heartbeatSpyOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	h.record(details)
	h.Next.RecordHeartbeat(ctx, details...)
}

// TestSalvagedKeepsTheBatchsOwnFirstReports: of a lost batch's last
// heartbeat, only the batch's own requests of its pass count, each once.
func TestSalvagedKeepsTheBatchsOwnFirstReports(t *testing.T) {
	specs := []activities.RequestSpec{{Index: 2}, {Index: 5}}
	p := activities.SendProgress{Records: []record.Request{
		{Index: 5, Pass: record.PassConcurrent, Response: "first"},
		{Index: 7, Pass: record.PassConcurrent, Response: "another batch's"},
		{Index: 2, Pass: record.PassSequential, Response: "another pass's"},
		{Index: 5, Pass: record.PassConcurrent, Response: "again"},
	}}
	got := activities.Salvaged(record.PassConcurrent, specs, p)
	if len(got) != 1 || got[0].Index != 5 || got[0].Response != "first" {
		t.Errorf("Salvaged = %+v, want request 5's first report alone", got)
	}
}
