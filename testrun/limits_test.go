package testrun

import (
	"strings"
	"testing"
	"time"
)

func validInput(mod func(*Input)) Input {
	in := Input{Requests: 10, Model: "m", Prompts: make([]string, 10)}
	for i := range in.Prompts {
		in.Prompts[i] = "p"
	}
	in = in.WithDefaults()
	if mod != nil {
		mod(&in)
	}
	return in
}

// TestUpperBounds: the workflow refuses, as the starter does, values past
// the upper bounds, and the size guards saturate instead of wrapping.
func TestUpperBounds(t *testing.T) {
	for name, mod := range map[string]func(*Input){
		"-shards":          func(in *Input) { in.MaxShards = HardMaxShards + 1 },
		"-max-tokens":      func(in *Input) { in.MaxTokens = 1 << 62 },
		"-fire-lead":       func(in *Input) { in.FireLead = time.Hour },
		"-timeout":         func(in *Input) { in.Timeout = 100000 * time.Hour },
		"-request-timeout": func(in *Input) { in.RequestTimeout = 2 * time.Hour },
	} {
		err := validInput(mod).Validate()
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s past its bound: got %v", name, err)
		}
	}
	if err := validInput(func(in *Input) {
		in.MaxShards, in.MaxTokens, in.Timeout, in.RequestTimeout, in.FireLead = HardMaxShards, 100, MaxTimeout, MaxRequestTimeout, MaxFireLead
	}).Validate(); err != nil {
		t.Errorf("values at their bounds refused: %v", err)
	}
	if got := satMul(1<<62, 6); got < 1<<62 {
		t.Errorf("satMul wrapped: %d", got)
	}
	in := validInput(func(in *Input) { in.MaxTokens = 1 << 61 })
	if in.recordBytes() < 0 || in.historyBytes() < 0 || in.shardResultBytes() < 0 {
		t.Errorf("a size guard wrapped: %d %d %d", in.recordBytes(), in.historyBytes(), in.shardResultBytes())
	}
}

// TestExecutionTimeout: a run's execution timeout covers -timeout and the
// tries of its longest batch, and has a cap.
func TestExecutionTimeout(t *testing.T) {
	in := validInput(nil)
	d := in.ExecutionTimeout()
	if d < in.Timeout+3*in.RequestTimeout || d > in.Timeout+time.Hour {
		t.Errorf("ExecutionTimeout = %s for -timeout %s, -request-timeout %s", d, in.Timeout, in.RequestTimeout)
	}
	// 100 requests at concurrency 1 in one batch: 100 waves.
	slow := validInput(func(in *Input) {
		in.Requests, in.Concurrency, in.MaxRequests = 100, 1, 100
		in.Prompts = make([]string, 100)
	})
	if d := slow.ExecutionTimeout(); d < slow.Timeout+3*100*slow.RequestTimeout {
		t.Errorf("ExecutionTimeout = %s: too short for 100 waves", d)
	}
	huge := validInput(func(in *Input) {
		in.Requests, in.Concurrency, in.MaxRequests, in.RequestTimeout, in.Timeout = 100000, 1, 100000, MaxRequestTimeout, MaxTimeout
	})
	if d := huge.ExecutionTimeout(); d != MaxExecutionTimeout {
		t.Errorf("ExecutionTimeout = %s, want the cap %s", d, MaxExecutionTimeout)
	}
}
