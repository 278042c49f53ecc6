package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func TestChatCompletion(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{OutputTokens: 12, APIKey: "sk-test"})
	client := newClient(t, baseURL, "sk-test")
	ctx := context.Background()

	req := openai.ChatCompletionRequest{
		Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: "You are terse."},            // 3 words
			{Role: openai.ChatMessageRoleUser, Content: "  Say hello\tto the\nworld "}, // 5 words
		},
	}
	// 3 (priming) + 2 messages * 3 + 3 + 5 words.
	const wantPrompt = 3 + 2*3 + 3 + 5

	resp, err := client.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Object != "chat.completion" || resp.Model != "gpt-4o-mini" || resp.Created == 0 {
		t.Errorf("envelope = id %q object %q model %q created %d", resp.ID, resp.Object, resp.Model, resp.Created)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("got %d choices, want 1", len(resp.Choices))
	}
	choice := resp.Choices[0]
	full := choice.Message.Content
	if choice.Message.Role != openai.ChatMessageRoleAssistant || full == "" {
		t.Fatalf("message = %+v, want non-empty assistant content", choice.Message)
	}
	if got := len(strings.Fields(full)); got != 12 {
		t.Errorf("content has %d words, want 12: %q", got, full)
	}
	if choice.FinishReason != openai.FinishReasonStop {
		t.Errorf("finish_reason = %q, want stop", choice.FinishReason)
	}
	want := openai.Usage{PromptTokens: wantPrompt, CompletionTokens: 12, TotalTokens: wantPrompt + 12}
	if resp.Usage.PromptTokens != want.PromptTokens || resp.Usage.CompletionTokens != want.CompletionTokens || resp.Usage.TotalTokens != want.TotalTokens {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}

	// max_tokens below OutputTokens caps the answer to a prefix of the
	// uncapped one and reports "length".
	for _, tc := range []struct {
		name  string
		set   func(*openai.ChatCompletionRequest)
		limit int
	}{
		{"max_tokens", func(r *openai.ChatCompletionRequest) { r.MaxTokens = 5 }, 5}, //lint:ignore SA1019 the simulator reads max_tokens, as servers do
		{"max_completion_tokens", func(r *openai.ChatCompletionRequest) { r.MaxCompletionTokens = 4 }, 4},
	} {
		capped := req
		tc.set(&capped)
		resp, err := client.CreateChatCompletion(ctx, capped)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := resp.Choices[0]
		if c.FinishReason != openai.FinishReasonLength {
			t.Errorf("%s: finish_reason = %q, want length", tc.name, c.FinishReason)
		}
		if resp.Usage.CompletionTokens != tc.limit || resp.Usage.TotalTokens != wantPrompt+tc.limit {
			t.Errorf("%s: usage = %+v, want %d completion tokens", tc.name, resp.Usage, tc.limit)
		}
		words := strings.Fields(full)
		if wantText := strings.Join(words[:tc.limit], " "); c.Message.Content != wantText {
			t.Errorf("%s: content = %q, want prefix %q", tc.name, c.Message.Content, wantText)
		}
	}

	// max_tokens at or above OutputTokens does not cap.
	big := req
	big.MaxTokens = 12 //lint:ignore SA1019 the simulator reads max_tokens, as servers do
	resp, err = client.CreateChatCompletion(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != openai.FinishReasonStop || resp.Usage.CompletionTokens != 12 {
		t.Errorf("max_tokens=OutputTokens: finish %q, usage %+v; want stop, 12", resp.Choices[0].FinishReason, resp.Usage)
	}
}

func TestChatCompletionMultiContent(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{OutputTokens: 3})
	client := newClient(t, baseURL, "")
	resp, err := client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "sim-model",
		Messages: []openai.ChatCompletionMessage{{
			Role: openai.ChatMessageRoleUser,
			MultiContent: []openai.ChatMessagePart{
				{Type: openai.ChatMessagePartTypeText, Text: "one two"},
				{Type: openai.ChatMessagePartTypeText, Text: "three"},
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + 3 + 3; resp.Usage.PromptTokens != want {
		t.Errorf("prompt_tokens = %d, want %d", resp.Usage.PromptTokens, want)
	}
}

// streamResult is what a streamed completion delivered.
type streamResult struct {
	contentChunks int
	text          string
	firstRole     string
	finishReason  openai.FinishReason
	usage         *openai.Usage
	usageChunks   int
	contentType   string
}

func readStream(t *testing.T, client *openai.Client, req openai.ChatCompletionRequest) streamResult {
	t.Helper()
	stream, err := client.CreateChatCompletionStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	res := streamResult{contentType: stream.Header().Get("Content-Type")}
	var sb strings.Builder
	for i := 0; ; i++ {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if chunk.Object != "chat.completion.chunk" || chunk.Model != req.Model {
			t.Fatalf("chunk %d: object %q model %q", i, chunk.Object, chunk.Model)
		}
		if chunk.Usage != nil {
			res.usageChunks++
			res.usage = chunk.Usage
			if len(chunk.Choices) != 0 {
				t.Errorf("usage chunk has %d choices, want 0", len(chunk.Choices))
			}
		}
		for _, c := range chunk.Choices {
			if i == 0 {
				res.firstRole = c.Delta.Role
			}
			if c.Delta.Content != "" {
				res.contentChunks++
				sb.WriteString(c.Delta.Content)
			}
			if c.FinishReason != "" {
				if res.finishReason != "" {
					t.Errorf("second finish_reason %q", c.FinishReason)
				}
				res.finishReason = c.FinishReason
			}
		}
	}
	res.text = sb.String()
	return res
}

func TestStreaming(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{OutputTokens: 7, PerToken: time.Millisecond})
	client := newClient(t, baseURL, "")
	req := userRequest("stream me a short story")

	plain, err := client.CreateChatCompletion(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}

	withUsage := req
	withUsage.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	got := readStream(t, client, withUsage)
	if got.contentType != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", got.contentType)
	}
	if got.firstRole != openai.ChatMessageRoleAssistant {
		t.Errorf("first chunk role = %q, want assistant", got.firstRole)
	}
	if got.usage == nil || got.usageChunks != 1 {
		t.Fatalf("got %d usage chunks, want exactly 1", got.usageChunks)
	}
	if got.contentChunks != got.usage.CompletionTokens || got.contentChunks != 7 {
		t.Errorf("content chunks = %d, completion_tokens = %d, want both 7", got.contentChunks, got.usage.CompletionTokens)
	}
	if *got.usage != plain.Usage {
		t.Errorf("stream usage = %+v, non-streamed usage = %+v", *got.usage, plain.Usage)
	}
	if got.text != plain.Choices[0].Message.Content {
		t.Errorf("streamed text %q != non-streamed text %q", got.text, plain.Choices[0].Message.Content)
	}
	if got.finishReason != openai.FinishReasonStop {
		t.Errorf("finish_reason = %q, want stop", got.finishReason)
	}

	noUsage := readStream(t, client, req)
	if noUsage.usageChunks != 0 {
		t.Errorf("without include_usage got %d usage chunks, want 0", noUsage.usageChunks)
	}
	if noUsage.contentChunks != 7 || noUsage.text != got.text {
		t.Errorf("without include_usage: %d chunks %q, want 7 chunks %q", noUsage.contentChunks, noUsage.text, got.text)
	}

	capped := withUsage
	capped.MaxTokens = 3 //lint:ignore SA1019 the simulator reads max_tokens, as servers do
	c := readStream(t, client, capped)
	if c.contentChunks != 3 || c.usage == nil || c.usage.CompletionTokens != 3 || c.finishReason != openai.FinishReasonLength {
		t.Errorf("max_tokens=3: %d chunks, usage %+v, finish %q; want 3, 3, length", c.contentChunks, c.usage, c.finishReason)
	}
}

func TestStreamStopsWhenClientDisconnects(t *testing.T) {
	t.Parallel()
	done, doneCh := signalHook(1)
	sim, baseURL := startTest(t, Config{OutputTokens: 50, PerToken: time.Second}, func(s *Server) { s.onDone = done })
	client := newClient(t, baseURL, "")

	stream, err := client.CreateChatCompletionStream(context.Background(), userRequest("a long answer please"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the role chunk and the first token
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	stream.Close()
	// The full stream would take 49 s; the handler must notice the
	// disconnect at the next token gap.
	waitFor(t, doneCh, "the streaming handler to return after the client disconnected")
	if st := sim.Stats(); st.StatusCounts[200] != 1 {
		t.Errorf("StatusCounts = %v, want one 200", st.StatusCounts)
	}
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	cfg := Config{OutputTokens: 20, Jitter: 50 * time.Millisecond, Seed: 42}
	_, urlA := startTest(t, cfg)
	_, urlB := startTest(t, cfg)
	other := cfg
	other.Seed = 43
	_, urlOther := startTest(t, other)
	a, b, o := newClient(t, urlA, ""), newClient(t, urlB, ""), newClient(t, urlOther, "")
	ctx := context.Background()
	content := func(c *openai.Client, prompt string) string {
		t.Helper()
		resp, err := c.CreateChatCompletion(ctx, userRequest(prompt))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Choices[0].Message.Content
	}

	first := content(a, "what is the weather like")
	if again := content(a, "what is the weather like"); again != first {
		t.Errorf("same server, same prompt: %q then %q", first, again)
	}
	if fromB := content(b, "what is the weather like"); fromB != first {
		t.Errorf("same seed, other server: %q vs %q", fromB, first)
	}
	if diff := content(a, "what is the weather like today"); diff == first {
		t.Errorf("different prompts gave the same text %q", diff)
	}
	if diff := content(o, "what is the weather like"); diff == first {
		t.Errorf("different seeds gave the same text %q", diff)
	}

	// Jitter, fault and words are a function of (seed, model, messages).
	simA, simB := New(cfg), New(cfg)
	msgs := func(p string) []promptMessage { return []promptMessage{{role: "user", text: p}} }
	jitters := map[time.Duration]bool{}
	for i := range 20 {
		p := fmt.Sprintf("prompt %d", i)
		pa, pb := simA.planFor("sim-model", msgs(p)), simB.planFor("sim-model", msgs(p))
		if pa.jitter != pb.jitter || strings.Join(pa.words, " ") != strings.Join(pb.words, " ") {
			t.Fatalf("%q: plans differ: jitter %v vs %v", p, pa.jitter, pb.jitter)
		}
		if pa.jitter < 0 || pa.jitter >= cfg.Jitter {
			t.Fatalf("%q: jitter %v outside [0, %v)", p, pa.jitter, cfg.Jitter)
		}
		jitters[pa.jitter] = true
	}
	if len(jitters) < 10 {
		t.Errorf("20 prompts produced only %d distinct jitters", len(jitters))
	}
	if simA.planFor("sim-model", msgs("x")).key == simA.planFor("gpt-4o-mini", msgs("x")).key {
		t.Error("the model does not affect the request key")
	}
}

// TestDeterminismUnderConcurrency checks that arrival order does not change
// any outcome: the same prompts sent one by one and all at once to servers
// with the same seed get the same texts and the same faults.
func TestDeterminismUnderConcurrency(t *testing.T) {
	t.Parallel()
	cfg := Config{OutputTokens: 8, Seed: 7, MaxConcurrent: 3, Faults: Faults{Error500: 0.5}}
	_, urlSeq := startTest(t, cfg)
	_, urlPar := startTest(t, cfg)
	seqClient, parClient := newClient(t, urlSeq, ""), newClient(t, urlPar, "")
	const n = 24
	outcome := func(c *openai.Client, i int) string {
		resp, err := c.CreateChatCompletion(context.Background(), userRequest(fmt.Sprintf("question number %d", i)))
		var apiErr *openai.APIError
		switch {
		case errors.As(err, &apiErr):
			return fmt.Sprintf("status %d", apiErr.HTTPStatusCode)
		case err != nil:
			return "transport error: " + err.Error()
		}
		return resp.Choices[0].Message.Content
	}

	sequential := make([]string, n)
	for i := range n {
		sequential[i] = outcome(seqClient, i)
	}
	concurrent := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { concurrent[i] = outcome(parClient, i) })
	}
	wg.Wait()

	failures := 0
	for i := range n {
		if sequential[i] != concurrent[i] {
			t.Errorf("request %d: sequential %q, concurrent %q", i, sequential[i], concurrent[i])
		}
		if sequential[i] == "status 500" {
			failures++
		}
	}
	if failures == 0 || failures == n {
		t.Errorf("Error500=0.5 failed %d of %d distinct requests", failures, n)
	}
}
