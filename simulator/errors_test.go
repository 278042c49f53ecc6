package simulator

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// asAPIError returns err as an *openai.APIError or fails the test.
func asAPIError(t *testing.T, err error) *openai.APIError {
	t.Helper()
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *openai.APIError", err, err)
	}
	return apiErr
}

func TestAuth(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{APIKey: "sk-right-key", OutputTokens: 2})
	ctx := context.Background()

	const wrongKey = "sk-wrong-key-123456"
	_, err := newClient(t, baseURL, wrongKey).CreateChatCompletion(ctx, userRequest("hi"))
	apiErr := asAPIError(t, err)
	if apiErr.HTTPStatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_api_key" || apiErr.Type != "invalid_request_error" {
		t.Errorf("APIError = status %d code %v type %q, want 401 invalid_api_key invalid_request_error",
			apiErr.HTTPStatusCode, apiErr.Code, apiErr.Type)
	}
	if strings.Contains(apiErr.Message, wrongKey) {
		t.Errorf("error message leaks the key: %q", apiErr.Message)
	}

	_, err = newClient(t, baseURL, wrongKey).ListModels(ctx)
	if apiErr := asAPIError(t, err); apiErr.HTTPStatusCode != http.StatusUnauthorized {
		t.Errorf("ListModels with a wrong key: status %d, want 401", apiErr.HTTPStatusCode)
	}

	c := httpClient(t)
	noKey := do(t, c, http.MethodPost, baseURL+"/chat/completions", "", chatBody)
	decodeError(t, noKey, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key")
	basic, err := http.NewRequest(http.MethodPost, baseURL+"/chat/completions", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	basic.SetBasicAuth("user", "sk-right-key")
	resp, err := c.Do(basic)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic auth: status %d, want 401", resp.StatusCode)
	}

	if _, err := newClient(t, baseURL, "sk-right-key").CreateChatCompletion(ctx, userRequest("hi")); err != nil {
		t.Errorf("right key: %v", err)
	}
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	sim, baseURL := startTest(t, Config{Models: []string{"model-a"}})
	ctx := context.Background()

	req := userRequest("hi")
	req.Model = "no-such-model"
	_, err := newClient(t, baseURL, "").CreateChatCompletion(ctx, req)
	apiErr := asAPIError(t, err)
	if apiErr.HTTPStatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: status %d code %v, want 404 model_not_found", apiErr.HTTPStatusCode, apiErr.Code)
	}

	c := httpClient(t)
	chat := baseURL + "/chat/completions"
	for _, tc := range []struct {
		name        string
		method, url string
		body        string
		status      int
		code, param string
		allowHeader string
	}{
		{name: "bad JSON", method: "POST", url: chat, body: `{"model":`, status: 400, code: "invalid_json"},
		{name: "not an object", method: "POST", url: chat, body: `[1,2]`, status: 400, code: "invalid_json"},
		{name: "missing model", method: "POST", url: chat, body: `{"messages":[{"role":"user","content":"x"}]}`, status: 400, code: "missing_required_parameter", param: "model"},
		{name: "empty messages", method: "POST", url: chat, body: `{"model":"model-a","messages":[]}`, status: 400, code: "empty_array", param: "messages"},
		{name: "no messages", method: "POST", url: chat, body: `{"model":"model-a"}`, status: 400, code: "empty_array", param: "messages"},
		{name: "negative max_tokens", method: "POST", url: chat, body: `{"model":"model-a","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, status: 400, code: "integer_below_min_value", param: "max_tokens"},
		{name: "negative max_completion_tokens", method: "POST", url: chat, body: `{"model":"model-a","max_completion_tokens":-5,"messages":[{"role":"user","content":"x"}]}`, status: 400, code: "integer_below_min_value", param: "max_completion_tokens"},
		{name: "bad content", method: "POST", url: chat, body: `{"model":"model-a","messages":[{"role":"user","content":42}]}`, status: 400, code: "invalid_type", param: "messages[0].content"},
		{name: "missing role", method: "POST", url: chat, body: `{"model":"model-a","messages":[{"content":"x"}]}`, status: 400, code: "missing_required_parameter", param: "messages[0].role"},
		{name: "400 before 404", method: "POST", url: chat, body: `{"model":"nope","messages":[]}`, status: 400, code: "empty_array", param: "messages"},
		{name: "GET chat", method: "GET", url: chat, status: 405, code: "method_not_allowed", allowHeader: "POST"},
		{name: "POST models", method: "POST", url: baseURL + "/models", body: "{}", status: 405, code: "method_not_allowed", allowHeader: "GET"},
		{name: "unknown path", method: "GET", url: baseURL + "/embeddingz", status: 404, code: "unknown_url"},
		{name: "no /v1 prefix", method: "POST", url: strings.TrimSuffix(baseURL, "/v1") + "/chat/completions", body: chatBody, status: 404, code: "unknown_url"},
		{name: "unknown model by id", method: "GET", url: baseURL + "/models/nope", status: 404, code: "model_not_found"},
	} {
		r := do(t, c, tc.method, tc.url, "", tc.body)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, r.status, tc.status, r.body)
			continue
		}
		e := decodeError(t, r, tc.status, "invalid_request_error", tc.code)
		wantParam := "null"
		if tc.param != "" {
			wantParam = `"` + tc.param + `"`
		}
		if string(e.Error.Param) != wantParam {
			t.Errorf("%s: param = %s, want %s", tc.name, e.Error.Param, wantParam)
		}
		if got := r.header.Get("Allow"); got != tc.allowHeader {
			t.Errorf("%s: Allow = %q, want %q", tc.name, got, tc.allowHeader)
		}
	}
	if st := sim.Stats(); st.StatusCounts[400] != 10 || st.StatusCounts[404] != 4 || st.StatusCounts[405] != 2 || st.Requests != 16 || st.ChatRequests != 12 || st.ChatStatusCounts[400] != 10 || st.ChatStatusCounts[404] != 1 || st.ChatStatusCounts[405] != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestFaultErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		faults Faults
		status int
		code   string
	}{
		{Faults{Error500: 1}, http.StatusInternalServerError, "server_error"},
		{Faults{Error503: 1}, http.StatusServiceUnavailable, "overloaded"},
	} {
		// Faults are answered before the concurrency gate and the latency:
		// an hour of latency must not delay them.
		sim, baseURL := startTest(t, Config{Faults: tc.faults, Latency: time.Hour, MaxConcurrent: 1, RateLimit: 10})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := newClient(t, baseURL, "").CreateChatCompletion(ctx, userRequest("hi"))
		cancel()
		apiErr := asAPIError(t, err)
		if apiErr.HTTPStatusCode != tc.status || apiErr.Type != "server_error" || apiErr.Code != tc.code {
			t.Errorf("status %d type %q code %v, want %d server_error %s", apiErr.HTTPStatusCode, apiErr.Type, apiErr.Code, tc.status, tc.code)
		}
		r := do(t, httpClient(t), http.MethodPost, baseURL+"/chat/completions", "", chatBody)
		decodeError(t, r, tc.status, "server_error", tc.code)
		checkRateHeaders(t, r.header, 10)
		if st := sim.Stats(); st.StatusCounts[tc.status] != 2 || st.MaxInFlight != 0 {
			t.Errorf("Stats = %+v, want 2 x %d and nothing in flight", st, tc.status)
		}
	}
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	sim, baseURL := startTest(t, Config{Faults: Faults{Drop: 1}})
	_, err := newClient(t, baseURL, "").CreateChatCompletion(context.Background(), userRequest("hi"))
	if err == nil {
		t.Fatal("dropped request succeeded")
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	if errors.As(err, &apiErr) || errors.As(err, &reqErr) {
		t.Fatalf("dropped request got an HTTP status: %v", err)
	}
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Errorf("error %v (%T) is not a transport (*url.Error) error", err, err)
	}
	if st := sim.Stats(); st.StatusCounts[0] != 1 || len(st.StatusCounts) != 1 || st.Requests != 1 {
		t.Errorf("Stats = %+v, want one request counted under status 0", st)
	}
}

func TestFaultStall(t *testing.T) {
	t.Parallel()
	stall, stallCh := signalHook(2)
	done, doneCh := signalHook(2)
	sim, baseURL := startTest(t, Config{Faults: Faults{Stall: 1}}, func(s *Server) {
		s.onStall = stall
		s.onDone = done
	})
	client := newClient(t, baseURL, "")

	// A client with a short deadline gives up; the handler notices.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := client.CreateChatCompletion(ctx, userRequest("hang"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context deadline exceeded", err)
	}
	waitFor(t, stallCh, "the first request to stall")
	waitFor(t, doneCh, "the handler to return after the client gave up")

	// A patient client is released by Close.
	errc := make(chan error, 1)
	go func() {
		_, err := client.CreateChatCompletion(context.Background(), userRequest("hang forever"))
		errc <- err
	}()
	waitFor(t, stallCh, "the second request to stall")
	closeAndWait(t, sim)
	select {
	case err := <-errc:
		var apiErr *openai.APIError
		if err == nil || errors.As(err, &apiErr) {
			t.Errorf("stalled request released by Close: err = %v, want a transport error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stalled client not released by Close")
	}
	if st := sim.Stats(); st.StatusCounts[0] != 2 {
		t.Errorf("Stats = %+v, want 2 requests without a response", st)
	}
}

// closeAndWait calls sim.Close and fails if it does not return promptly.
func closeAndWait(t *testing.T, sim *Server) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- sim.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: a handler was not released")
	}
}

func TestCloseReleasesQueuedAndInProgress(t *testing.T) {
	t.Parallel()
	admit, admitCh := signalHook(2)
	queue, queueCh := signalHook(2)
	sim, baseURL := startTest(t, Config{Latency: time.Hour, MaxConcurrent: 1}, func(s *Server) {
		s.onAdmit = admit
		s.onQueue = queue
	})
	client := newClient(t, baseURL, "")
	errc := make(chan error, 2)
	send := func(prompt string) {
		go func() {
			_, err := client.CreateChatCompletion(context.Background(), userRequest(prompt))
			errc <- err
		}()
	}
	send("first")
	waitFor(t, admitCh, "the first request to get the slot")
	send("second")
	waitFor(t, queueCh, "the second request to queue")
	if st := sim.Stats(); st.MaxInFlight != 1 {
		t.Errorf("MaxInFlight = %d, want 1", st.MaxInFlight)
	}

	closeAndWait(t, sim)
	for range 2 {
		select {
		case err := <-errc:
			if err == nil {
				t.Error("request succeeded although the simulator was closed")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("client not released by Close")
		}
	}
	if st := sim.Stats(); st.StatusCounts[0] != 2 {
		t.Errorf("Stats = %+v, want 2 requests without a response", st)
	}

	// After Close the handler answers 503.
	r := do(t, httpClient(t), http.MethodPost, baseURL+"/chat/completions", "", chatBody)
	decodeError(t, r, http.StatusServiceUnavailable, "server_error", "server_shutting_down")
}

func TestStartAndClose(t *testing.T) {
	t.Parallel()
	admit, admitCh := signalHook(1)
	sim := New(Config{Latency: time.Hour})
	sim.onAdmit = admit
	baseURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if !strings.HasPrefix(baseURL, "http://127.0.0.1:") || !strings.HasSuffix(baseURL, "/v1") {
		t.Errorf("base URL = %q", baseURL)
	}
	if _, err := sim.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
	client := newClient(t, baseURL, "")
	models, err := client.ListModels(context.Background())
	if err != nil || len(models.Models) != 3 {
		t.Fatalf("ListModels = %d models, %v", len(models.Models), err)
	}

	errc := make(chan error, 1)
	go func() {
		_, err := client.CreateChatCompletion(context.Background(), userRequest("slow"))
		errc <- err
	}()
	waitFor(t, admitCh, "the request to be served") // it then sleeps for an hour
	closeAndWait(t, sim)
	if err := <-errc; err == nil {
		t.Error("in-progress request succeeded although the simulator was closed")
	}
	if _, err := client.ListModels(context.Background()); err == nil {
		t.Error("the listener still serves after Close")
	}
	if err := sim.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := sim.Start("127.0.0.1:0"); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	want := []string{"model-b", "model-a"}
	_, baseURL := startTest(t, Config{Models: want, APIKey: "k"})
	client := newClient(t, baseURL, "k")
	ctx := context.Background()
	list, err := client.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Models {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.OwnedBy != "simulator" || m.CreatedAt == 0 {
			t.Errorf("model %+v", m)
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("model IDs = %v, want %v", ids, want)
	}
	m, err := client.GetModel(ctx, "model-a")
	if err != nil || m.ID != "model-a" {
		t.Errorf("GetModel = %+v, %v", m, err)
	}
	req := userRequest("hi")
	req.Model = "model-b"
	if _, err := client.CreateChatCompletion(ctx, req); err != nil {
		t.Errorf("configured model: %v", err)
	}
	req.Model = "sim-model" // a default model, not configured here
	_, err = client.CreateChatCompletion(ctx, req)
	if apiErr := asAPIError(t, err); apiErr.HTTPStatusCode != http.StatusNotFound {
		t.Errorf("unconfigured model: status %d, want 404", apiErr.HTTPStatusCode)
	}
}

func TestZeroConfig(t *testing.T) {
	t.Parallel()
	sim, baseURL := startTest(t, Config{})
	cfg := sim.Config()
	if cfg.OutputTokens != DefaultOutputTokens || cfg.RateWindow != DefaultRateWindow || cfg.TokenLimit != DefaultTokenLimit ||
		cfg.Faults.StallFor != DefaultStallFor || !slices.Equal(cfg.Models, DefaultModels()) {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	req := userRequest("hi")
	req.Model = "gpt-4.1-nano"
	resp, err := newClient(t, baseURL, "anything").CreateChatCompletion(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.CompletionTokens != DefaultOutputTokens {
		t.Errorf("completion_tokens = %d, want %d", resp.Usage.CompletionTokens, DefaultOutputTokens)
	}

	// Out-of-range values are clamped rather than rejected.
	odd := New(Config{Latency: -time.Second, MaxConcurrent: -3, RateLimit: -1, Faults: Faults{Error500: 7, Drop: -1}}).Config()
	if odd.Latency != 0 || odd.MaxConcurrent != 0 || odd.RateLimit != 0 || odd.Faults.Error500 != 1 || odd.Faults.Drop != 0 {
		t.Errorf("clamping: %+v", odd)
	}
}
