package workflows

import (
	"strings"
	"testing"

	"github.com/llmconc/llmconc/prompts"
)

func TestValidateRejectsResultsOverThePayloadLimit(t *testing.T) {
	in := RunInput{Model: "m", Requests: 1000, Passes: PassesBoth, Prompts: prompts.ForRequests(prompts.BuiltIn, 1000)}.WithDefaults()
	if err := in.Validate(); err != nil {
		t.Fatalf("1000 requests in both passes must fit: %v", err)
	}
	in = RunInput{Model: "m", Requests: 2000, Passes: PassesBoth, Prompts: prompts.ForRequests(prompts.BuiltIn, 2000)}.WithDefaults()
	err := in.Validate()
	if err == nil || !strings.Contains(err.Error(), "2 MiB") || !strings.Contains(err.Error(), "-passes") {
		t.Fatalf("2000 requests in both passes: want the payload-limit error naming -passes, got %v", err)
	}
	in.Passes = PassesConcurrent
	if err := in.Validate(); err != nil {
		t.Fatalf("2000 requests in one pass must fit: %v", err)
	}
	long := strings.Repeat("x", 4000)
	in = RunInput{Model: "m", Requests: 400, Passes: PassesConcurrent, Prompts: prompts.ForRequests([]string{long}, 400)}.WithDefaults()
	if err := in.Validate(); err == nil {
		t.Fatalf("400 prompts of 4 KB must not fit, estimate %d bytes", in.EstimatedResultBytes())
	}
}
