package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// startTest mounts a new Server on an httptest.Server and returns it with
// its API base URL. setup runs before the first request (to install hooks).
// The simulator is closed before the httptest server so stalled or queued
// requests never block the cleanup.
func startTest(t *testing.T, cfg Config, setup ...func(*Server)) (*Server, string) {
	t.Helper()
	sim := New(cfg)
	for _, f := range setup {
		f(sim)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(func() {
		_ = sim.Close()
		ts.Close()
	})
	return sim, ts.URL + "/v1"
}

// httpClient returns a client with its own connection pool, so tests never
// share connections.
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// newClient returns a go-openai client for baseURL using key.
func newClient(t *testing.T, baseURL, key string) *openai.Client {
	t.Helper()
	oc := openai.DefaultConfig(key)
	oc.BaseURL = baseURL
	oc.HTTPClient = httpClient(t)
	return openai.NewClientWithConfig(oc)
}

// userRequest returns a one-message request for the default model.
func userRequest(prompt string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:    "sim-model",
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: prompt}},
	}
}

// rawResponse is a response read completely.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// do sends method url with body (if non-empty) and key (if non-empty) and
// reads the whole response, failing the test on transport errors.
func do(t *testing.T, c *http.Client, method, url, key, body string) rawResponse {
	t.Helper()
	r, err := try(c, method, url, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// try is do for use outside the test goroutine: it returns the error.
func try(c *http.Client, method, url, key, body string) (rawResponse, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return rawResponse{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return rawResponse{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResponse{}, fmt.Errorf("%s %s: reading body: %w", method, url, err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// wireError is OpenAI's error body, decoded strictly enough to check that
// param is present (possibly null).
type wireError struct {
	Error struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    string          `json:"code"`
	} `json:"error"`
}

// decodeError checks that r carries OpenAI's error body with the given
// status, type and code, and returns it.
func decodeError(t *testing.T, r rawResponse, status int, typ, code string) wireError {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e wireError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if e.Error.Type != typ || e.Error.Code != code || e.Error.Message == "" || e.Error.Param == nil {
		t.Fatalf("error = %+v (param %s), want type %q code %q with a message and a param field", e.Error, e.Error.Param, typ, code)
	}
	return e
}

// chatBody is a minimal valid chat completion body.
const chatBody = `{"model":"sim-model","messages":[{"role":"user","content":"hello"}]}`

// barrier returns a hook that holds its first n callers until all n have
// arrived; later callers pass straight through. A generous timeout keeps a
// broken implementation from hanging the test (the assertions then fail).
func barrier(n int) func() {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func() {
		mu.Lock()
		arrived++
		me := arrived
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		if me > n {
			return
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
	}
}

// signalHook returns a hook that reports each call on the returned channel
// without ever blocking the caller.
func signalHook(buf int) (func(), <-chan struct{}) {
	ch := make(chan struct{}, buf)
	return func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}, ch
}

// waitFor waits for one signal on ch, failing the test after a generous
// timeout.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
