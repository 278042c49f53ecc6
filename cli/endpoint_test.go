package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/report"
)

func TestEndpointFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "default"},
		{[]string{"-endpoint", "local"}, "local"},
		{[]string{"-endpoint", " vllm-2 "}, "vllm-2"},
	} {
		o, err := parseFlags(append([]string{"-requests", "2"}, tc.args...), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		in, err := o.runInput()
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if in.Endpoint != tc.want {
			t.Errorf("%v: endpoint %q, want %q", tc.args, in.Endpoint, tc.want)
		}
	}
}

// TestEndpointFlagBadName: a run names an endpoint, never a URL; a bad name
// is one line and exit code 2, before Temporal is even dialled.
func TestEndpointFlagBadName(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "result.json")
	for _, name := range []string{"https://evil.example/v1", "", "Local", "a b"} {
		code, stdout, stderr := runMain(t, "-endpoint", name, "-out", out)
		if code != ExitBadInput {
			t.Errorf("-endpoint %q: exit code %d, want %d", name, code, ExitBadInput)
		}
		line := oneErrorLine(t, stderr)
		if !strings.Contains(line, "-endpoint") || strings.Contains(line, deadAddress) {
			t.Errorf("-endpoint %q: error line %q should name -endpoint and come before dialling Temporal", name, line)
		}
		if stdout != "" {
			t.Errorf("stdout not empty: %q", stdout)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a result file was written")
	}
}

// pollerClient answers DescribeTaskQueue with the identities of the
// pollers, one list per call (the last one repeats), or with err.
type pollerClient struct {
	client.Client
	mu     sync.Mutex
	calls  int
	polls  [][]string
	err    error
	queues []string
}

func (c *pollerClient) DescribeTaskQueue(_ context.Context, tq string, tqType enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queues = append(c.queues, tq+"/"+tqType.String())
	if c.err != nil {
		return nil, c.err
	}
	ids := c.polls[min(c.calls, len(c.polls)-1)]
	c.calls++
	resp := &workflowservice.DescribeTaskQueueResponse{}
	for _, id := range ids {
		resp.Pollers = append(resp.Pollers, &taskqueuepb.PollerInfo{Identity: id})
	}
	return resp, nil
}

func TestRequireEndpoint(t *testing.T) {
	ctx := context.Background()
	const addr, tq = "temporal.example:7233", "llm-concurrency-test"
	for _, tc := range []struct {
		name   string
		polls  [][]string
		err    error
		wait   time.Duration
		target string
		want   string // "" for accepted
		note   string // the note of an accepted endpoint ("" for none)
	}{
		{"served", [][]string{{"1@h@ endpoints=default,local", "2@g@ endpoints=b"}}, nil, 0, "local", "",
			`Note: 1 of the 2 workers on task queue "llm-concurrency-test" do not serve endpoint "local"`},
		{"served by all", [][]string{{"1@h@ endpoints=default,local", "2@g@ endpoints=local"}}, nil, 0, "local", "", ""},
		{"worker from before names", [][]string{{"1@h@"}}, nil, 0, "default", "", ""},
		{"worker starts while waiting", [][]string{{}, {}, {"1@h@ endpoints=a"}}, nil, 5 * time.Second, "a", "", ""},
		{"not served", [][]string{{"1@h@ endpoints=default,local", "2@g@ endpoints=b"}}, nil, 0, "nope",
			`no worker on task queue "llm-concurrency-test" serves endpoint "nope"; the workers serve b, default, local`, ""},
		{"no worker", [][]string{{}}, nil, 0, "default",
			`no worker is polling task queue "llm-concurrency-test" at temporal.example:7233`, ""},
		{"not allowed to look", nil, serviceerror.NewPermissionDenied("no", ""), 0, "default", "", "Not allowed to list the workers"},
		{"server error", nil, serviceerror.NewUnavailable("down"), 0, "default", "cannot list the workers", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &pollerClient{polls: tc.polls, err: tc.err}
			var note bytes.Buffer
			err := requireEndpoint(ctx, c, addr, tq, tc.target, tc.wait, &note)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				hasNote := strings.Contains(note.String(), "Note: ") || strings.Contains(note.String(), "Not allowed")
				if (tc.note == "") == hasNote || !strings.Contains(note.String(), tc.note) {
					t.Errorf("note %q, want %q", note.String(), tc.note)
				}
			} else {
				if err == nil || ExitCode(err) != ExitBadInput || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v (exit %d), want exit 2 with %q", err, ExitCode(err), tc.want)
				}
			}
			if c.queues[0] != tq+"/Activity" {
				t.Errorf("asked about %v, want the activity task queue %s", c.queues, tq)
			}
		})
	}
}

func TestConfigExtraNamesEndpoint(t *testing.T) {
	w := &watcher{extra: []string{"Temporal:          127.0.0.1:7233 (local dev server)"}} // as with -dev
	got := w.configExtra(report.Config{Endpoint: "http://127.0.0.1:8000/v1", EndpointLabel: "vLLM", EndpointName: "local"})
	want := []string{"Endpoint:          local at http://127.0.0.1:8000/v1 (vLLM)", "Temporal:          127.0.0.1:7233 (local dev server)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("configExtra = %q, want %q", got, want)
	}
}

// TestDevUnknownEndpoint: -dev checks -endpoint against its own worker's
// endpoints (the simulator as "default" here) before it starts a server.
func TestDevUnknownEndpoint(t *testing.T) {
	isolate(t)
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("LLMCONC_ENDPOINTS", "")
	code, stdout, stderr := runMain(t, "-dev", "-endpoint", "nope", "-out", filepath.Join(t.TempDir(), "r.json"))
	if code != ExitBadInput {
		t.Errorf("exit code %d, want %d", code, ExitBadInput)
	}
	line := oneErrorLine(t, stderr)
	if !strings.Contains(line, `does not serve endpoint "nope"; it serves default`) {
		t.Errorf("error line %q", line)
	}
	if strings.Contains(stdout, "dev server") {
		t.Errorf("a dev server was started: %q", stdout)
	}
}
