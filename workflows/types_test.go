package workflows

import (
	"strings"
	"testing"

	"github.com/llmconc/llmconc/prompts"
)

func TestValidateAcceptsTheMaximumRun(t *testing.T) {
	in := RunInput{Model: "m", Requests: MaxRequests, Passes: PassesBoth, Prompts: prompts.ForRequests(prompts.BuiltIn, MaxRequests)}.WithDefaults()
	if err := in.Validate(); err != nil {
		t.Fatalf("%d requests in both passes with the built-in prompts must be accepted: %v", MaxRequests, err)
	}
}

func TestValidateRejectsPromptsOverThePayloadLimit(t *testing.T) {
	long := strings.Repeat("x", 4000)
	in := RunInput{Model: "m", Requests: 500, Passes: PassesConcurrent, Prompts: prompts.ForRequests([]string{long}, 500)}.WithDefaults()
	err := in.Validate()
	if err == nil || !strings.Contains(err.Error(), "2 MiB") {
		t.Fatalf("500 prompts of 4 KB: want the payload-limit error, got %v", err)
	}
	in = RunInput{Model: "m", Requests: 400, Passes: PassesConcurrent, Prompts: prompts.ForRequests([]string{long}, 400)}.WithDefaults()
	if err := in.Validate(); err != nil {
		t.Fatalf("400 prompts of 4 KB (1.6 MB) must fit: %v", err)
	}
}

func TestValidateRejectsBatchesOverThePayloadLimit(t *testing.T) {
	in := RunInput{Model: "m", Requests: MaxRequests, MaxTokens: 4096, Passes: PassesConcurrent, Prompts: prompts.ForRequests(prompts.BuiltIn, MaxRequests)}.WithDefaults()
	err := in.Validate()
	if err == nil || !strings.Contains(err.Error(), "-shards") {
		t.Fatalf("200 requests of 4096 tokens per batch: want the batch-size error naming -shards, got %v", err)
	}
	in.MaxShards = 500
	if err := in.Validate(); err != nil {
		t.Fatalf("20 requests of 4096 tokens per batch must fit: %v", err)
	}
	in.MaxShards, in.Passes = DefaultMaxShards, PassesSequential
	if err := in.Validate(); err != nil {
		t.Fatalf("the sequential pass sends one request per batch and must fit: %v", err)
	}
}
