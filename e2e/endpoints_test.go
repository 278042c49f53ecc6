package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/llmconc/llmconc/prompts"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// TestEndpointsAllowList runs a worker that serves two allow-listed
// endpoints, "a" and "b" (two simulators, each requiring its own key), and
// no default: a run with -endpoint a reaches only simulator a with a's key,
// one with -endpoint b only simulator b; -endpoint nope is refused before
// anything starts (one line, exit code 2, no workflow); and a run started
// behind the starter's back with an unknown name is refused by the worker
// itself, before any request.
func TestEndpointsAllowList(t *testing.T) {
	keyA, keyB := "e2e-key-a-"+randHex(8), "e2e-key-b-"+randHex(8)
	sims := map[string]*simulator.Server{}
	bases := map[string]string{}
	for name, key := range map[string]string{"a": keyA, "b": keyB} {
		sim := simulator.New(simulator.Config{Latency: 50 * time.Millisecond, APIKey: key, Seed: 1})
		base, err := sim.Start("127.0.0.1:0")
		if err != nil {
			t.Fatalf("start simulator %s: %v", name, err)
		}
		t.Cleanup(func() { sim.Close() })
		sims[name], bases[name] = sim, base
	}
	list := `[{"name": "a", "base_url": "` + bases["a"] + `", "key_env": "A_KEY", "label": "simulator a"},
	          {"name": "b", "base_url": "` + bases["b"] + `", "key_env": "B_KEY"}]`
	worker := startProc(t, "worker", workerBin, binEnv("LLMCONC_ENDPOINTS="+list, "A_KEY="+keyA, "B_KEY="+keyB))
	waitPolling(t, worker, "endpoints=a,b")

	requests := func() (int, int) { return sims["a"].Stats().ChatRequests, sims["b"].Stats().ChatRequests }
	for _, tc := range []struct {
		name         string
		wantA, wantB int // requests seen so far: a warm-up and both passes of 2 requests each
	}{{"a", 5, 0}, {"b", 5, 5}} {
		id := "e2e-endpoint-" + tc.name + "-" + randHex(4)
		_, raw := runToJSON(t, "-endpoint", tc.name, "-requests", "2", "-max-tokens", "8", "-id", id)
		_, d := decodeDoc(t, raw)
		checkCompleted(t, d, id, 2)
		var named struct {
			Config struct {
				EndpointName string `json:"endpoint_name"`
			} `json:"config"`
		}
		if err := json.Unmarshal(raw, &named); err != nil {
			t.Fatal(err)
		}
		if d.Config.Endpoint != bases[tc.name] || named.Config.EndpointName != tc.name {
			t.Errorf("-endpoint %s: config endpoint %q named %q, want %q named %s", tc.name, d.Config.Endpoint, named.Config.EndpointName, bases[tc.name], tc.name)
		}
		a, b := requests()
		if a != tc.wantA || b != tc.wantB {
			t.Errorf("after -endpoint %s: simulator a saw %d requests, b %d; want %d and %d", tc.name, a, b, tc.wantA, tc.wantB)
		}
		// Each simulator only answers its own key: all 200, no 401.
		if st := sims[tc.name].Stats(); st.ChatStatusCounts[200] != st.ChatRequests {
			t.Errorf("simulator %s answered %v: the worker did not send its key", tc.name, st.ChatStatusCounts)
		}
	}

	// An endpoint no worker serves: one line, exit 2, nothing started.
	a, b := requests()
	id := "e2e-endpoint-nope-" + randHex(4)
	p, code := runStarter(t, time.Minute, "-endpoint", "nope", "-requests", "2", "-id", id, "-out", filepath.Join(t.TempDir(), "nope.json"))
	if code != 2 {
		t.Errorf("-endpoint nope: exit %d, want 2\n%s", code, p.output())
	}
	if errLines := lines(p.stderr.String()); len(errLines) != 1 || !strings.Contains(errLines[0], `endpoint "nope"`) || !strings.Contains(errLines[0], "a, b") {
		t.Errorf("-endpoint nope: stderr should be one line naming the endpoint and those served:\n%s", p.stderr.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var notFound *serviceerror.NotFound
	if _, err := tc.DescribeWorkflow(ctx, id, ""); !errors.As(err, &notFound) {
		t.Errorf("-endpoint nope started workflow %s (describe: %v)", id, err)
	}
	if a2, b2 := requests(); a2 != a || b2 != b {
		t.Errorf("-endpoint nope sent requests: a %d → %d, b %d → %d", a, a2, b, b2)
	}

	// Defence in depth: the worker refuses a name it does not serve even
	// when the starter's check is bypassed.
	in := testrun.Input{Endpoint: "nope", Requests: 2, Model: "gpt-4.1-nano", Prompts: prompts.ForRequests(prompts.BuiltIn, 2), PromptsSource: "e2e"}.WithDefaults()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "e2e-endpoint-direct-" + randHex(4), TaskQueue: workflows.TaskQueue}, workflows.ConcurrencyTest, in)
	if err != nil {
		t.Fatalf("start a run directly: %v", err)
	}
	err = run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.InvalidInputErrorType || !strings.Contains(appErr.Message(), `does not serve endpoint "nope"`) {
		t.Errorf("a run on an unknown endpoint ended with %v, want %s saying the worker does not serve it", err, workflows.InvalidInputErrorType)
	}
	if a2, b2 := requests(); a2 != a || b2 != b {
		t.Errorf("the refused run sent requests: a %d → %d, b %d → %d", a, a2, b, b2)
	}
	if code := worker.stop(t); code != 0 {
		t.Errorf("worker exited %d on SIGINT\n%s", code, worker.output())
	}
	for _, key := range []string{keyA, keyB} {
		if strings.Contains(worker.output(), key) {
			t.Errorf("the worker's output holds a key:\n%s", worker.output())
		}
	}
}

// TestWorkerRejectsBadAllowList: the worker checks LLMCONC_ENDPOINTS before
// it connects to Temporal, and refuses a bad list with one line per problem,
// naming the endpoint, and exit code 2.
func TestWorkerRejectsBadAllowList(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "endpoints.json")
	if err := os.WriteFile(file, []byte(`[{"name": "a", "base_url": "http://127.0.0.1:1/v1", "key_env": "UNSET_KEY"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, list string
		want       []string
	}{
		{"not http", `[{"name": "a", "base_url": "ftp://127.0.0.1/v1", "key_env": "A_KEY"}]`, []string{`endpoint "a": base_url`}},
		{"duplicate", `[{"name": "a", "base_url": "http://h/v1", "key_env": "A_KEY"}, {"name": "a", "base_url": "http://i/v1", "key_env": "A_KEY"}]`, []string{`endpoint "a": listed twice`}},
		{"key in the list", `[{"name": "a", "base_url": "http://h/v1", "api_key": "sk-e2e-secret"}]`, []string{`unknown field "api_key"`}},
		{"file, key unset", file, []string{`endpoint "a": UNSET_KEY (its key_env) is not set`}},
		{"two problems", `[{"name": "Bad", "base_url": "http://h/v1", "key_env": "A_KEY"}, {"name": "b", "base_url": "http://u:pw@h/v1", "key_env": "A_KEY"}]`,
			[]string{"endpoint #1: bad name", `endpoint "b": base_url must not carry credentials`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// TEMPORAL_ADDRESS points nowhere: the worker must stop before it
			// tries to connect.
			env := binEnv("LLMCONC_ENDPOINTS="+tc.list, "A_KEY=e2e-a-key", "TEMPORAL_ADDRESS=127.0.0.1:1")
			p := startProc(t, "worker", workerBin, env)
			if code := p.wait(t, 30*time.Second); code != 2 {
				t.Errorf("exit %d, want 2\n%s", code, p.output())
			}
			errLines := lines(p.stderr.String())
			if len(errLines) != len(tc.want) {
				t.Fatalf("%d lines on stderr, want %d:\n%s", len(errLines), len(tc.want), p.stderr.String())
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(errLines[i], "worker: ") || !strings.Contains(errLines[i], want) {
					t.Errorf("line %q, want \"worker: ...%s...\"", errLines[i], want)
				}
			}
			for _, secret := range []string{"sk-e2e-secret", "pw@", "e2e-a-key"} {
				if strings.Contains(p.stderr.String(), secret) {
					t.Errorf("stderr repeats a secret (%s):\n%s", secret, p.stderr.String())
				}
			}
		})
	}
}

// waitPolling waits until worker polls the test's task queue for
// activities: the server lists a poller with the worker's process ID, whose
// identity holds want.
func waitPolling(t *testing.T, worker *proc, want string) {
	t.Helper()
	prefix := strconv.Itoa(worker.cmd.Process.Pid) + "@"
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := tc.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		cancel()
		if err == nil {
			for _, p := range resp.GetPollers() {
				if strings.HasPrefix(p.GetIdentity(), prefix) {
					if !strings.Contains(p.GetIdentity(), want) {
						t.Fatalf("the worker's identity %q lacks %q", p.GetIdentity(), want)
					}
					return
				}
			}
		}
		select {
		case <-worker.done:
			t.Fatalf("the worker exited before it polled\n%s", worker.output())
		case <-deadline.C:
			t.Fatalf("the worker did not poll task queue %s within 30s (last error %v)", workflows.TaskQueue, err)
		case <-tick.C:
		}
	}
}
