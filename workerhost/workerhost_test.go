package workerhost

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
)

const secret = "sk-test-SECRET-0123456789abcdef"

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnvMissingKey(t *testing.T) {
	for _, key := range []string{"", "   "} {
		_, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: key}))
		if err == nil {
			t.Fatalf("%s=%q accepted", EnvAPIKey, key)
		}
		if !strings.Contains(err.Error(), "OPENAI_API_KEY") {
			t.Errorf("error %q does not name OPENAI_API_KEY", err)
		}
	}
}

func TestConfigFromEnvDefaults(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: "  " + secret + "\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL != "https://api.openai.com/v1" {
		t.Errorf("default base URL %q, want https://api.openai.com/v1", cfg.BaseURL)
	}
	if cfg.APIKey != secret {
		t.Errorf("key %q, want it trimmed to %q", cfg.APIKey, secret)
	}
}

func TestConfigFromEnvBaseURL(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: secret, EnvBaseURL: " http://127.0.0.1:8000/v1 "}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL != "http://127.0.0.1:8000/v1" {
		t.Errorf("base URL %q, want http://127.0.0.1:8000/v1", cfg.BaseURL)
	}
}

func TestConfigFromEnvBadBaseURL(t *testing.T) {
	for _, u := range []string{
		"ftp://example.com/v1",
		"api.openai.com/v1",
		"http://",
		"https:///v1",
		"://nope",
	} {
		_, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: secret, EnvBaseURL: u}))
		if err == nil {
			t.Errorf("%s=%q accepted", EnvBaseURL, u)
			continue
		}
		if !strings.Contains(err.Error(), EnvBaseURL) {
			t.Errorf("error %q for %q does not name %s", err, u, EnvBaseURL)
		}
	}
}

func TestConfigFromEnvCredentialsInURL(t *testing.T) {
	for _, u := range []string{"https://user:hunter2@example.com/v1", "http://user@example.com/v1"} {
		_, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: secret, EnvBaseURL: u}))
		if err == nil {
			t.Errorf("%s=%q with credentials accepted", EnvBaseURL, u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q echoes the password", err)
		}
		if !strings.Contains(err.Error(), EnvAPIKey) {
			t.Errorf("error %q does not point to %s", err, EnvAPIKey)
		}
	}
}

func TestOptions(t *testing.T) {
	o := Options()
	if o.MaxConcurrentActivityTaskPollers <= 2 {
		t.Errorf("MaxConcurrentActivityTaskPollers = %d, want more than the SDK's 2", o.MaxConcurrentActivityTaskPollers)
	}
	if o.MaxConcurrentActivityExecutionSize < 1000 {
		t.Errorf("MaxConcurrentActivityExecutionSize = %d, want at least 1000", o.MaxConcurrentActivityExecutionSize)
	}
}

func TestNewActivities(t *testing.T) {
	acts := NewActivities(Config{APIKey: secret, BaseURL: "http://127.0.0.1:8000/v1/", Label: "local"})
	if acts.Client == nil {
		t.Fatal("no client")
	}
	if acts.Pool == nil {
		t.Error("no connection pool: concurrent batches cannot pre-open connections")
	}
	if acts.Endpoint.BaseURL != "http://127.0.0.1:8000/v1" {
		t.Errorf("endpoint base URL %q, want the trailing slash trimmed", acts.Endpoint.BaseURL)
	}
	if acts.Endpoint.Label != "local" {
		t.Errorf("endpoint label %q, want local", acts.Endpoint.Label)
	}

	ep, err := acts.DescribeEndpoint(context.Background(), activities.DescribeInput{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) {
		t.Errorf("the endpoint exposes the key: %s", b)
	}

	// Through Temporal's payload encoding too.
	var s testsuite.WorkflowTestSuite
	tenv := s.NewTestActivityEnvironment()
	activities.Register(tenv, acts)
	val, err := tenv.ExecuteActivity(acts.DescribeEndpoint, activities.DescribeInput{})
	if err != nil {
		t.Fatal(err)
	}
	var raw json.RawMessage
	if err := val.Get(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Errorf("DescribeEndpoint's result exposes the key: %s", raw)
	}
	if !strings.Contains(string(raw), "http://127.0.0.1:8000/v1") {
		t.Errorf("DescribeEndpoint's result %s lacks the base URL", raw)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(nil, Config{BaseURL: DefaultBaseURL}); err == nil || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Errorf("New without a key: err = %v, want one naming %s", err, EnvAPIKey)
	}
}

func TestStopOnSignalSaysWhatHappens(t *testing.T) {
	signals := make(chan any, 1)
	var logged []string
	logDone := make(chan struct{})
	stop := stopOnSignal(signals, func(format string, args ...any) {
		logged = append(logged, fmt.Sprintf(format, args...))
		close(logDone)
	})
	signals <- syscall.SIGTERM
	if got := <-stop; got != syscall.SIGTERM {
		t.Errorf("the worker got %v, want the signal", got)
	}
	<-logDone
	if len(logged) != 1 || !strings.Contains(logged[0], "terminated: taking no new work; batches in flight finish first (up to 30s)") {
		t.Errorf("logged %q, want one line saying that batches in flight finish first", logged)
	}
}

// TestBaseURLWithKeyOrQueryIsRefused: a base URL is scheme, host, port and
// path. A query string, a fragment, or something that looks like a key is
// refused at start-up, and the message does not repeat it.
func TestBaseURLWithKeyOrQueryIsRefused(t *testing.T) {
	const pasted = "sk-proj-Zq3xW9vL2mN8bT5yR1cK7hJ4gF6dS0aP"
	for _, tc := range []struct{ url, leak string }{
		{"https://api.example.com/v1?api-key=hunter2hunter2", "hunter2"},
		{"https://api.example.com/v1#hunter2hunter2", "hunter2"},
		{"https://api.example.com/v1?", "?"},
		{pasted, pasted[8:16]},
		{"https://api.example.com/" + pasted + "/v1", pasted[8:16]},
		{"https://api.example.com/v1/Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4f", "Ab3dEf6h"},
		{"https://api.example.com/v1/" + secret[2:12], secret[2:12]},
		{"ftp://" + pasted, pasted[8:16]},
	} {
		_, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: secret, EnvBaseURL: tc.url}))
		if err == nil {
			t.Errorf("%s=%q accepted", EnvBaseURL, tc.url)
			continue
		}
		if strings.Contains(err.Error(), tc.leak) {
			t.Errorf("error %q repeats %q", err, tc.leak)
		}
		if !strings.Contains(err.Error(), EnvBaseURL) {
			t.Errorf("error %q does not name %s", err, EnvBaseURL)
		}
	}
	// Host names and hex IDs (an account ID in a gateway's path) are no keys.
	for _, u := range []string{
		"https://gateway.ai.cloudflare.com/v1/fedcba9876543210fedcba9876543210/gw/openai",
		"https://zyxwvutsrq9876543210zyxwvutsrq98.lambda-url.us-east-1.on.aws/v1",
		"http://127.0.0.1:8000/v1",
	} {
		if _, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: secret, EnvBaseURL: u})); err != nil {
			t.Errorf("%s=%q refused: %v", EnvBaseURL, u, err)
		}
	}
}

// TestShortKeyWarning: a key shorter than 20 characters works, with a
// warning that names its variable, never the key.
func TestShortKeyWarning(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{EnvAPIKey: "test", EnvBaseURL: "http://127.0.0.1:8000/v1"}))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], EnvAPIKey) || strings.Contains(w[0], `"test"`) {
		t.Fatalf("warnings %q: want one naming %s", w, EnvAPIKey)
	}
	cfg, _ = ConfigFromEnv(env(map[string]string{EnvAPIKey: strings.Repeat("k", 40)}))
	if w := cfg.Warnings(); len(w) != 0 {
		t.Fatalf("warnings for a long key: %q", w)
	}
}

func TestSafeURL(t *testing.T) {
	if got := SafeURL("https://h:8443/v1/"); got != "https://h:8443/v1" {
		t.Errorf("SafeURL = %q", got)
	}
}
