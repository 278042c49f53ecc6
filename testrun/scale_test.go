package testrun

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/prompts"
)

// concurrentRun is a concurrent-only run of n requests sent all at once,
// streamed, with the built-in prompts, as the starter makes it.
func concurrentRun(n, maxTokens int) Input {
	return Input{Model: "m", Requests: n, MaxRequests: HardMaxRequests, MaxTokens: maxTokens, Passes: PassesConcurrent, Stream: true,
		Prompts: prompts.ForRequests(prompts.BuiltIn, n)}.WithDefaults()
}

func TestScaleAcceptsTenThousandAtOnce(t *testing.T) {
	if err := concurrentRun(10_000, 20).Validate(); err != nil {
		t.Fatalf("10,000 streamed requests at once of 20 tokens must be accepted: %v", err)
	}
}

// TestScaleRefusesFiftyThousandNamingTheLargestThatFits: N = 50,000 at once
// is refused before anything is sent; the message names the limit and the
// largest N that fits, which is accepted, and one more is not.
func TestScaleRefusesFiftyThousandNamingTheLargestThatFits(t *testing.T) {
	err := concurrentRun(50_000, 20).Validate()
	if err == nil {
		t.Fatal("50,000 requests at once must be refused")
	}
	for _, want := range []string{"50000 requests in flight", "10000 one run sends", "at most 10000 -requests fit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("the refusal is more than one line: %q", err)
	}
	// At a concurrency that fits, the history's bytes are the limit.
	in := concurrentRun(50_000, 100)
	in.Concurrency = 1000
	err = in.Validate()
	if err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("50,000 streamed responses of 100 tokens: want the history-size error, got %v", err)
	}
	n := in.LargestRequests()
	if n < 1000 || n >= 50_000 || !strings.Contains(err.Error(), fmt.Sprintf("at most %d -requests fit", n)) {
		t.Fatalf("largest N %d, refusal %q", n, err)
	}
	fit := in
	fit.Requests, fit.Prompts = n, in.Prompts[:n]
	if err := fit.Validate(); err != nil {
		t.Errorf("the largest N that fits, %d, is refused: %v", n, err)
	}
	fit.Requests, fit.Prompts = n+1, in.Prompts[:n+1]
	if err := fit.Validate(); err == nil {
		t.Errorf("%d, one more than the largest N that fits, is accepted", n+1)
	}
}

// TestScaleCountsStreamedChunkGaps: a streamed record holds a gap per token,
// which the history's bound counts.
func TestScaleCountsStreamedChunkGaps(t *testing.T) {
	in := concurrentRun(100, 1000)
	plain := in
	plain.Stream = false
	if got, want := in.recordBytes()-plain.recordBytes(), 1000*streamGapBytes; got != want {
		t.Errorf("a streamed record of 1000 tokens is bounded %d bytes above a plain one, want %d", got, want)
	}
}

func TestScaleBoundsSweepLevels(t *testing.T) {
	in := concurrentRun(20_000, 8)
	in.Passes, in.Concurrency, in.Sweep = PassesSweep, 0, []int{100, 20_000}
	in = in.WithDefaults()
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Errorf("a sweep level of 20,000: want the in-flight error, got %v", err)
	}
}
