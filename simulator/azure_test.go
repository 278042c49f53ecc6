package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// azureClient returns go-openai's Azure client for the resource at base,
// with version as its api-version and the deployment name passed as is.
func azureClient(t *testing.T, base, key, version string) *openai.Client {
	t.Helper()
	oc := openai.DefaultAzureConfig(key, base)
	oc.APIVersion = version
	oc.AzureModelMapperFunc = func(model string) string { return model }
	oc.HTTPClient = httpClient(t)
	return openai.NewClientWithConfig(oc)
}

// TestAzureChat: go-openai's Azure configuration gets a completion, plain
// and streamed, from the deployment named by -model.
func TestAzureChat(t *testing.T) {
	_, base := startTest(t, Config{Azure: true, APIKey: "az-key", Models: []string{"my-gpt-4.1"}, OutputTokens: 5})
	base = strings.TrimSuffix(base, "/v1")
	c := azureClient(t, base, "az-key", DefaultAzureAPIVersion)
	req := userRequest("hello")
	req.Model = "my-gpt-4.1"
	resp, err := c.CreateChatCompletion(context.Background(), req)
	if err != nil {
		t.Fatalf("azure completion: %v", err)
	}
	if resp.Model != "my-gpt-4.1" || resp.Usage.CompletionTokens != 5 {
		t.Errorf("got model %q, %d completion tokens; want my-gpt-4.1, 5", resp.Model, resp.Usage.CompletionTokens)
	}
	st, err := c.CreateChatCompletionStream(context.Background(), req)
	if err != nil {
		t.Fatalf("azure stream: %v", err)
	}
	defer st.Close()
	var text strings.Builder
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("azure stream: %v", err)
		}
		for _, ch := range chunk.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if text.Len() == 0 {
		t.Error("azure stream sent no content")
	}
}

// TestAzureRefusals: the path, the api-version and the api-key header are
// checked, each with a 4xx and an Azure error body naming the problem.
func TestAzureRefusals(t *testing.T) {
	sim, base := startTest(t, Config{Azure: true, AzureAPIVersion: "2024-06-01", APIKey: "az-key", Models: []string{"dep"}})
	base = strings.TrimSuffix(base, "/v1")
	body := `{"model":"dep","messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		status     int
		want       string
	}{
		{"ok", "/openai/deployments/dep/chat/completions?api-version=2024-06-01", map[string]string{"api-key": "az-key"}, 200, ""},
		{"wrong version", "/openai/deployments/dep/chat/completions?api-version=2023-05-15", map[string]string{"api-key": "az-key"}, 400, "API version not supported"},
		{"no version", "/openai/deployments/dep/chat/completions", map[string]string{"api-key": "az-key"}, 400, "api-version"},
		{"bearer only", "/openai/deployments/dep/chat/completions?api-version=2024-06-01", map[string]string{"Authorization": "Bearer az-key"}, 401, "api-key header"},
		{"no key", "/openai/deployments/dep/chat/completions?api-version=2024-06-01", nil, 401, "missing subscription key"},
		{"wrong key", "/openai/deployments/dep/chat/completions?api-version=2024-06-01", map[string]string{"api-key": "other"}, 401, "invalid subscription key"},
		{"unknown deployment", "/openai/deployments/nope/chat/completions?api-version=2024-06-01", map[string]string{"api-key": "az-key"}, 404, "deployment \"nope\""},
		{"openai path", "/v1/chat/completions", map[string]string{"api-key": "az-key", "Authorization": "Bearer az-key"}, 404, "Resource not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, base+tc.path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := httpClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(e.Error.Message, tc.want) {
				t.Errorf("status %d, message %q; want %d and %q", resp.StatusCode, e.Error.Message, tc.status, tc.want)
			}
		})
	}
	if n := sim.Stats().StatusCounts[200]; n != 1 {
		t.Errorf("%d requests answered 200, want 1", n)
	}
}

// TestAzureWrongVersionClient: go-openai with another api-version gets a
// 400 whose message names the version the resource serves.
func TestAzureWrongVersionClient(t *testing.T) {
	_, base := startTest(t, Config{Azure: true, Models: []string{"dep"}})
	c := azureClient(t, strings.TrimSuffix(base, "/v1"), "k", "2023-05-15")
	req := userRequest("hi")
	req.Model = "dep"
	_, err := c.CreateChatCompletion(context.Background(), req)
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || !strings.Contains(apiErr.Message, DefaultAzureAPIVersion) {
		t.Fatalf("got %v, want a 400 naming api-version %s", err, DefaultAzureAPIVersion)
	}
}

// TestAzureConfigValidate: a malformed version, or one without Azure mode,
// is refused.
func TestAzureConfigValidate(t *testing.T) {
	if err := (Config{Azure: true, AzureAPIVersion: "v1"}).Validate(); err == nil {
		t.Error("api-version v1 accepted")
	}
	if err := (Config{AzureAPIVersion: "2024-10-21"}).Validate(); err == nil {
		t.Error("-azure-api-version without -azure accepted")
	}
	if err := (Config{Azure: true, AzureAPIVersion: "2025-04-01-preview"}).Validate(); err != nil {
		t.Errorf("preview version refused: %v", err)
	}
}
