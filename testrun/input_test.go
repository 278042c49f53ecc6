package testrun

import (
	"strings"
	"testing"

	"github.com/llmconc/llmconc/prompts"
	"github.com/llmconc/llmconc/record"
)

func TestValidateAcceptsTheMaximumRun(t *testing.T) {
	in := Input{Model: "m", Requests: DefaultMaxRequests, Passes: PassesConcurrent, Prompts: prompts.ForRequests(prompts.BuiltIn, DefaultMaxRequests)}.WithDefaults()
	if err := in.Validate(); err != nil {
		t.Fatalf("%d concurrent requests with the built-in prompts must be accepted: %v", DefaultMaxRequests, err)
	}
	in = Input{Model: "m", Requests: MaxSequentialRequests, Passes: PassesBoth, Prompts: prompts.ForRequests(prompts.BuiltIn, MaxSequentialRequests)}.WithDefaults()
	if err := in.Validate(); err != nil {
		t.Fatalf("%d requests in both passes with the built-in prompts must be accepted: %v", MaxSequentialRequests, err)
	}
}

func TestValidateKeepsTheHistoryUnderTemporalsLimits(t *testing.T) {
	in := Input{Model: "m", Requests: MaxSequentialRequests + 1, Passes: PassesBoth, Prompts: prompts.ForRequests(prompts.BuiltIn, MaxSequentialRequests+1)}.WithDefaults()
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "51,200") {
		t.Fatalf("a sequential pass of %d requests: want the event-limit error, got %v", MaxSequentialRequests+1, err)
	}
	in = Input{Model: "m", Requests: 5000, MaxTokens: 2000, MaxShards: 500, Passes: PassesConcurrent, Prompts: prompts.ForRequests(prompts.BuiltIn, 5000)}.WithDefaults()
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "50 MiB") {
		t.Fatalf("5000 responses of 2000 tokens: want the history-size error, got %v", err)
	}
	in.MaxTokens = 500
	if err := in.Validate(); err != nil {
		t.Fatalf("5000 responses of 500 tokens (about 17 MiB) must fit: %v", err)
	}
}

func TestValidateMaxRequestsIsConfigurable(t *testing.T) {
	in := Input{Model: "m", Requests: 11, MaxRequests: 10, Prompts: prompts.ForRequests(prompts.BuiltIn, 11)}.WithDefaults()
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "-max-requests") {
		t.Fatalf("11 requests with -max-requests 10: want an error naming -max-requests, got %v", err)
	}
	in.MaxRequests = 11
	if err := in.Validate(); err != nil {
		t.Fatalf("11 requests with -max-requests 11 must be accepted: %v", err)
	}
	in.MaxRequests = HardMaxRequests + 1
	if err := in.Validate(); err == nil {
		t.Fatalf("-max-requests over %d must be rejected", HardMaxRequests)
	}
}

func TestValidateOnly(t *testing.T) {
	base := Input{Model: "m", Requests: 4, Passes: PassesConcurrent, Prompts: prompts.ForRequests(prompts.BuiltIn, 4)}.WithDefaults()
	for _, tc := range []struct {
		name string
		only map[record.Pass][]int
		want string
	}{
		{"pass the run lacks", map[record.Pass][]int{record.PassSequential: {1}}, "does not have"},
		{"index out of range", map[record.Pass][]int{record.PassConcurrent: {4}}, "distinct indices"},
		{"index twice", map[record.Pass][]int{record.PassConcurrent: {1, 1}}, "distinct indices"},
		{"nothing", map[record.Pass][]int{record.PassConcurrent: {}}, "no requests"},
		{"fine", map[record.Pass][]int{record.PassConcurrent: {0, 3}}, ""},
	} {
		in := base
		in.Only = tc.only
		err := in.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: want %q, got %v", tc.name, tc.want, err)
		}
	}
	in := base
	in.Only = map[record.Pass][]int{record.PassConcurrent: {3, 0}}
	if got := in.Indices(record.PassConcurrent); len(got) != 2 || got[0] != 3 || got[1] != 0 {
		t.Errorf("Indices with Only: got %v, want [3 0]", got)
	}
	if in.Sends(record.PassSequential) || !in.Sends(record.PassConcurrent) {
		t.Errorf("Sends with Only: sequential must send nothing, concurrent must send")
	}
	if got := base.Indices(record.PassConcurrent); len(got) != 4 || got[3] != 3 {
		t.Errorf("Indices without Only: got %v, want 0..3", got)
	}
}

func TestValidateRejectsPromptsOverThePayloadLimit(t *testing.T) {
	long := strings.Repeat("x", 4000)
	in := Input{Model: "m", Requests: 500, Passes: PassesConcurrent, Prompts: prompts.ForRequests([]string{long}, 500)}.WithDefaults()
	err := in.Validate()
	if err == nil || !strings.Contains(err.Error(), "2 MiB") {
		t.Fatalf("500 prompts of 4 KB: want the payload-limit error, got %v", err)
	}
	in = Input{Model: "m", Requests: 400, Passes: PassesConcurrent, Prompts: prompts.ForRequests([]string{long}, 400)}.WithDefaults()
	if err := in.Validate(); err != nil {
		t.Fatalf("400 prompts of 4 KB (1.6 MB) must fit: %v", err)
	}
}

func TestValidateRejectsBatchesOverThePayloadLimit(t *testing.T) {
	in := Input{Model: "m", Requests: 1000, MaxTokens: 4096, MaxShards: 10, Passes: PassesConcurrent, Prompts: prompts.ForRequests(prompts.BuiltIn, 1000)}.WithDefaults()
	err := in.Validate()
	if err == nil || !strings.Contains(err.Error(), "-shards") {
		t.Fatalf("100 requests of 4096 tokens per batch: want the batch-size error naming -shards, got %v", err)
	}
	in.MaxShards = 500
	if err := in.Validate(); err != nil {
		t.Fatalf("2 requests of 4096 tokens per batch must fit: %v", err)
	}
	in.MaxShards, in.Passes = DefaultMaxShards, PassesSequential
	if err := in.Validate(); err != nil {
		t.Fatalf("the sequential pass sends one request per batch and must fit: %v", err)
	}
}
