package workerhost

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

func TestEndpointsAzure(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{
		EnvEndpoints: `[{"name": "az", "kind": "azure", "base_url": "https://myres.openai.azure.com", "api_version": "2024-10-21", "key_env": "AZ_KEY"},
			{"name": "plain", "kind": "openai", "base_url": "http://127.0.0.1:8000/v1", "key_env": "AZ_KEY"}]`,
		"AZ_KEY": otherSecret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	az, plain := cfg.All()[0], cfg.All()[1]
	if az.Kind != KindAzure || az.APIVersion != "2024-10-21" || az.APIKey != otherSecret {
		t.Errorf("azure endpoint %+v", az)
	}
	if plain.Kind != "" {
		t.Errorf("kind openai read as %q, want \"\" (the default)", plain.Kind)
	}
}

// TestEndpointsAzureProblems: an unknown kind, an azure entry without an
// api_version or with a malformed one, and an api_version on an OpenAI
// entry are each refused in one line naming the endpoint.
func TestEndpointsAzureProblems(t *testing.T) {
	for _, tc := range []struct{ entry, want string }{
		{`"kind": "bedrock"`, `endpoint "a": unknown kind "bedrock": use "openai" (the default) or "azure"`},
		{`"kind": "azure"`, `endpoint "a": an azure endpoint needs its api_version`},
		{`"kind": "azure", "api_version": "latest"`, `endpoint "a": api_version "latest" is not an Azure OpenAI api-version`},
		{`"api_version": "2024-10-21"`, `endpoint "a": api_version is only for "kind": "azure"`},
	} {
		_, err := ConfigFromEnv(env(map[string]string{
			EnvEndpoints: `[{"name": "a", "base_url": "https://r.openai.azure.com", "key_env": "A_KEY", ` + tc.entry + `}]`,
			"A_KEY":      otherSecret,
		}))
		if err == nil || ExitCode(err) != 2 || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want one line with %q", tc.entry, err, tc.want)
		}
	}
}

// TestAzureActivitiesRequest: an azure endpoint's client sends to
// /openai/deployments/{model}/chat/completions?api-version=V with the key in
// api-key (no Authorization), the model used as the deployment name as is,
// through the endpoint's measuring HTTP client.
func TestAzureActivitiesRequest(t *testing.T) {
	var (
		mu   sync.Mutex
		seen *http.Request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Clone(context.Background())
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","model":"gpt-35.turbo","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	acts := NewActivities(Config{Endpoints: []Endpoint{
		{Name: "az", Kind: KindAzure, APIVersion: "2024-10-21", BaseURL: srv.URL + "/", APIKey: otherSecret},
	}})
	if acts.Endpoint.BaseURL != srv.URL {
		t.Errorf("recorded base URL %q, want %q", acts.Endpoint.BaseURL, srv.URL)
	}
	_, err := acts.Client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: "gpt-35.turbo", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := seen.URL.Path; got != "/openai/deployments/gpt-35.turbo/chat/completions" {
		t.Errorf("path %q", got)
	}
	if got := seen.URL.Query().Get("api-version"); got != "2024-10-21" {
		t.Errorf("api-version %q", got)
	}
	if seen.Header.Get("api-key") != otherSecret || seen.Header.Get("Authorization") != "" {
		t.Errorf("key not in api-key alone: api-key set %v, Authorization set %v", seen.Header.Get("api-key") != "", seen.Header.Get("Authorization") != "")
	}
}
