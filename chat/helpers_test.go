package chat_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

const (
	testKey   = "sk-test-SECRET-0123456789abcdef"
	testModel = "sim-model"
)

// startSim starts a simulator on loopback and closes it when the test ends.
func startSim(t *testing.T, cfg simulator.Config) (*simulator.Server, string) {
	t.Helper()
	sim := simulator.New(cfg)
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim, base
}

// newSender returns the Sender of base with key, as the worker builds it:
// an HTTP client of measure.NewHTTPClient with a connection pool, and the
// key redacted.
func newSender(key, base string) *chat.Sender {
	pool := &measure.ConnPool{}
	oc := openai.DefaultConfig(key)
	oc.BaseURL = base
	oc.HTTPClient = measure.NewHTTPClient(pool)
	return &chat.Sender{Client: openai.NewClientWithConfig(oc), BaseURL: base, Pool: pool, Redactor: measure.NewRedactor(key)}
}

// output is the records of a batch, in the order of their answers.
type output struct {
	Records []record.Request `json:"records"`
}

// send runs b with s and returns its records as they come out of JSON (as
// a result does out of Temporal).
func send(t *testing.T, s *chat.Sender, b chat.Batch) output {
	t.Helper()
	var (
		mu  sync.Mutex
		out output
	)
	b.OnAnswer = func(rec record.Request) error {
		mu.Lock()
		defer mu.Unlock()
		out.Records = append(out.Records, rec)
		return nil
	}
	if err := s.SendBatch(t.Context(), b); err != nil {
		t.Fatalf("SendBatch failed: %v", err)
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var decoded output
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	return decoded
}

// specs returns n numbered requests; distinct prompts get distinct
// simulator outcomes.
func specs(n int) []chat.Prompt {
	out := make([]chat.Prompt, n)
	for i := range out {
		out[i] = chat.Prompt{Index: i, Text: fmt.Sprintf("Say hello to test number %d", i)}
	}
	return out
}

func batch(n int) chat.Batch {
	return chat.Batch{
		Params:      chat.Params{Pass: record.PassSequential, Model: testModel, MaxTokens: 7, Timeout: 10 * time.Second},
		Prompts:     specs(n),
		Concurrency: 1,
	}
}

// parseTime returns a record's time, failing the test if it is missing or
// would not survive the JSON (RFC 3339 with nanoseconds, UTC).
func parseTime(t *testing.T, what string, v time.Time) time.Time {
	t.Helper()
	if v.IsZero() || v.Location() != time.UTC {
		t.Fatalf("%s %v: want a UTC time", what, v)
	}
	return v
}

func onlyRecord(t *testing.T, out output) record.Request {
	t.Helper()
	if len(out.Records) != 1 {
		t.Fatalf("got %d records, want 1: %+v", len(out.Records), out.Records)
	}
	return out.Records[0]
}
