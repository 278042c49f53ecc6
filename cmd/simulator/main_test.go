package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-no-such-flag"},
		{"-latency", "soon"},
		{"-fault-500", "1.5"},
		{"-fault-500", "0.6", "-fault-503", "0.6"},
		{"-fault-truncate", "0.5", "-fault-stall-stream", "0.3", "-fault-malformed", "0.3"},
		{"-fault-429", "2"},
		{"-slow-headers-for", "-1s"},
		{"-max-concurrent", "-1"},
		{"-models", "a,,b"},
		{"extra-argument"},
		{"-http2-max-streams", "100"},
		{"-tls", "-http2-max-streams", "-1"},
		{"-cert-file", "x.pem"},
	} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), args, &stdout, &stderr)
		if code != 2 {
			t.Errorf("%v: exit code %d, want 2", args, code)
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "simulator: ") {
			t.Errorf("%v: stderr = %q, want one line starting with \"simulator: \"", args, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout = %q, want nothing", args, stdout.String())
		}
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"-h"}, &stdout, &stderr); code != 0 {
		t.Errorf("-h: exit code %d, want 0", code)
	}
	for _, flag := range []string{"-addr", "-latency", "-max-concurrent", "-rate-limit", "-fault-stall", "-seed",
		"-fault-truncate", "-fault-stall-stream", "-fault-malformed", "-fault-slow-headers", "-slow-headers-for", "-fault-429",
		"-tls", "-cert-file", "-http2", "-http2-max-streams"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("-h output does not mention %s", flag)
		}
	}
}

func TestServeUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	exit := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"-addr", "127.0.0.1:0", "-latency", "0", "-max-concurrent", "2"}, pw, &stderr)
		pw.Close()
		exit <- code
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the banner: %v (stderr %q)", err, stderr.String())
	}
	const prefix = "simulator: serving OpenAI-compatible API at "
	baseURL, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
	if !ok || !strings.HasPrefix(baseURL, "http://127.0.0.1:") || !strings.HasSuffix(baseURL, "/v1") {
		t.Fatalf("banner = %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	resp, err := http.Get(baseURL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/models: status %d", resp.StatusCode)
	}

	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit code %d, want 0 (stderr %q)", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
	}
}
