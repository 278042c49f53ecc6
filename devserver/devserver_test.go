package devserver

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

func TestWorkflowURL(t *testing.T) {
	got := WorkflowURL("http://127.0.0.1:8233/", "default", "wf-1", "run-2")
	if want := "http://127.0.0.1:8233/namespaces/default/workflows/wf-1/run-2/history"; got != want {
		t.Errorf("WorkflowURL = %q, want %q", got, want)
	}
	if got := WorkflowURL("", "default", "wf", "run"); got != "" {
		t.Errorf("WorkflowURL without a UI = %q, want empty", got)
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	var tb tailBuffer
	tb.Write([]byte(strings.Repeat("a", 20<<10)))
	tb.Write([]byte("\nlast line\n"))
	s := tb.String()
	if len(s) != 16<<10 || !strings.HasSuffix(s, "last line\n") {
		t.Errorf("tail buffer holds %d bytes ending %q; want 16 KiB ending with the last line", len(s), s[len(s)-12:])
	}
	if got := lastLines("one\ntwo\nthree\n", 2); got != "two | three" {
		t.Errorf("lastLines = %q", got)
	}
}

// TestStartStopKeepsStateInDBFile starts a real dev server with a database
// file, stops it, starts it again on the same file, and finds the first
// server's workflow there.
func TestStartStopKeepsStateInDBFile(t *testing.T) {
	cli, ok := FindCLI()
	if !ok {
		t.Skip("the Temporal CLI is not installed (go install " + CLIPackage + "); the e2e tests and .ci/run install it")
	}
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "temporal.db")
	srv, err := Start(ctx, Options{CLI: cli, UIPort: -1, DBFile: db})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Address
	if !Answers(ctx, addr, "default") {
		t.Fatalf("started server does not answer at %s", addr)
	}
	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	// A workflow that no worker runs stays open: enough to find it later.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "devserver-test", TaskQueue: "nobody"}, "NoSuchWorkflow")
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if Answers(ctx, addr, "default") {
		t.Fatalf("stopped server still answers at %s", addr)
	}

	_, portText, _ := net.SplitHostPort(addr)
	p, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	srv2, err := Start(ctx, Options{CLI: cli, UIPort: -1, DBFile: db, Port: p, ReadyTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Kill()
	c2, err := client.Dial(client.Options{HostPort: srv2.Address})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	desc, err := c2.DescribeWorkflow(ctx, "devserver-test", "")
	if err != nil {
		t.Fatalf("the workflow started before the restart is gone: %v", err)
	}
	if got := desc.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId(); got != run.GetRunID() {
		t.Errorf("run ID after restart = %q, want %q", got, run.GetRunID())
	}
}

func TestStartFailsClearlyWithABrokenCLI(t *testing.T) {
	_, err := Start(context.Background(), Options{CLI: "/bin/false", UIPort: -1, ReadyTimeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "exited at start") {
		t.Fatalf("Start with a CLI that exits at once: got %v, want an 'exited at start' error", err)
	}
}

// TestRestartAfterACrash kills a dev server that keeps its state in a file
// and restarts it: same address, and the workflow started before the crash
// is still there.
func TestRestartAfterACrash(t *testing.T) {
	cli, ok := FindCLI()
	if !ok {
		t.Skip("the Temporal CLI is not installed (go install " + CLIPackage + "); the e2e tests and .ci/run install it")
	}
	ctx := context.Background()
	srv, err := Start(ctx, Options{CLI: cli, UIPort: -1, DBFile: filepath.Join(t.TempDir(), "temporal.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Kill()
	addr := srv.Address
	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "devserver-crash-test", TaskQueue: "nobody"}, "NoSuchWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(ctx, true); err != nil {
		t.Fatalf("restart after a crash: %v", err)
	}
	if srv.Address != addr {
		t.Errorf("address after restart = %s, want %s", srv.Address, addr)
	}
	// The client of the first server reconnects to the second.
	desc, err := c.DescribeWorkflow(ctx, "devserver-crash-test", "")
	if err != nil {
		t.Fatalf("the workflow started before the crash is gone: %v", err)
	}
	if got := desc.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId(); got != run.GetRunID() {
		t.Errorf("run ID after restart = %q, want %q", got, run.GetRunID())
	}
}

func TestRestartRefusesWithoutADBFile(t *testing.T) {
	err := (&Server{}).Restart(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "DBFile") {
		t.Fatalf("Restart without a DBFile: got %v, want a refusal naming DBFile", err)
	}
}
