package workerhost

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
)

const otherSecret = "sk-other-SECRET-fedcba9876543210"

func TestEndpointsInline(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{
		EnvAPIKey: secret,
		EnvEndpoints: ` [{"name": "local", "base_url": " http://127.0.0.1:8000/v1 ", "key_env": "LOCAL_KEY", "label": "vLLM"},
			{"name": "backup", "base_url": "https://backup.example/v1", "key_env": "` + EnvAPIKey + `"}]`,
		"LOCAL_KEY": " " + otherSecret + " ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Names(), []string{"default", "local", "backup"}; !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	all := cfg.All()
	if all[0].BaseURL != DefaultBaseURL || all[0].APIKey != secret {
		t.Errorf("default endpoint %q with key %q, want %s with OPENAI_API_KEY's", all[0].BaseURL, all[0].APIKey, DefaultBaseURL)
	}
	if l := all[1]; l.BaseURL != "http://127.0.0.1:8000/v1" || l.APIKey != otherSecret || l.Label != "vLLM" || l.KeyEnv != "LOCAL_KEY" {
		t.Errorf("local endpoint %+v", l)
	}
	if b := all[2]; b.APIKey != secret {
		t.Errorf("backup's key_env names OPENAI_API_KEY: key %q, want the default's", b.APIKey)
	}
}

func TestEndpointsFileWithoutDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints.json")
	if err := os.WriteFile(path, []byte(`[{"name": "a", "base_url": "http://127.0.0.1:1/v1", "key_env": "A_KEY"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFromEnv(env(map[string]string{EnvEndpoints: path, "A_KEY": otherSecret}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Names(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("names %v, want [a]: without OPENAI_API_KEY there is no default endpoint", got)
	}
}

// TestEndpointsProblems: each problem is one line that names the endpoint
// (or the variable), says how to fix it, and never repeats a key or a
// password.
func TestEndpointsProblems(t *testing.T) {
	const keyLike = "sk-live-0123456789abcdef0123456789"
	for _, tc := range []struct {
		name string
		vars map[string]string
		want []string // one per problem line
	}{
		{"not JSON", map[string]string{EnvEndpoints: "[{name: a}]"}, []string{"LLMCONC_ENDPOINTS is not a JSON array"}},
		{"missing file", map[string]string{EnvEndpoints: "/no/such/endpoints.json"}, []string{"cannot read /no/such/endpoints.json"}},
		{"empty list", map[string]string{EnvEndpoints: "[]"}, []string{"lists no endpoint"}},
		{"key in the list", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "http://h/v1", "api_key": "` + keyLike + `"}]`},
			[]string{`unknown field "api_key"`}},
		{"key in key_env", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "http://h/v1", "key_env": "` + keyLike + `"}]`},
			[]string{`endpoint "a": key_env must be the name of an environment variable`}},
		{"no key_env", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "http://h/v1"}]`},
			[]string{`endpoint "a": key_env is missing`}},
		{"key unset", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "http://h/v1", "key_env": "A_KEY"}]`, "A_KEY": "  "},
			[]string{`endpoint "a": A_KEY (its key_env) is not set`}},
		{"bad name", map[string]string{EnvEndpoints: `[{"name": "Bad Name", "base_url": "http://h/v1", "key_env": "K"}]`, "K": "k"},
			[]string{`endpoint #1: bad name`}},
		{"duplicate", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "http://h/v1", "key_env": "K"}, {"name": "a", "base_url": "http://i/v1", "key_env": "K"}]`, "K": "k"},
			[]string{`endpoint "a": listed twice`}},
		{"default twice", map[string]string{EnvAPIKey: secret, EnvEndpoints: `[{"name": "default", "base_url": "http://h/v1", "key_env": "K"}]`, "K": "k"},
			[]string{`endpoint "default": "default" is already the endpoint of OPENAI_API_KEY`}},
		{"base URL without key", map[string]string{EnvBaseURL: "http://h/v1", EnvEndpoints: `[{"name": "a", "base_url": "http://h/v1", "key_env": "K"}]`, "K": "k"},
			[]string{"OPENAI_BASE_URL is set but OPENAI_API_KEY is not"}},
		{"not http", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "ftp://h/v1", "key_env": "K"}]`, "K": "k"},
			[]string{`endpoint "a": base_url is not an http(s) URL such as https://api.openai.com/v1 (scheme "ftp")`}},
		{"credentials", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "https://u:hunter2@h/v1", "key_env": "K"}]`, "K": "k"},
			[]string{`endpoint "a": base_url must not carry credentials`}},
		{"two problems", map[string]string{EnvEndpoints: `[{"name": "a", "base_url": "ftp://h/v1", "key_env": "K"}, {"name": "b", "base_url": "http://h/v1", "key_env": "B_KEY"}]`, "K": "k"},
			[]string{`endpoint "a": base_url`, `endpoint "b": B_KEY (its key_env) is not set`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConfigFromEnv(env(tc.vars))
			if err == nil {
				t.Fatal("accepted")
			}
			if ExitCode(err) != 2 {
				t.Errorf("exit code %d, want 2 for a configuration problem", ExitCode(err))
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), err)
			}
			for i, want := range tc.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %q lacks %q", lines[i], want)
				}
			}
			for _, leak := range []string{keyLike, "hunter2", secret} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the message repeats a secret: %s", err)
				}
			}
		})
	}
}

func TestEndpointsTooMany(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range MaxEndpoints + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name": "e` + strings.Repeat("x", i) + `", "base_url": "http://h/v1", "key_env": "K"}`)
	}
	b.WriteString("]")
	_, err := ConfigFromEnv(env(map[string]string{EnvEndpoints: b.String(), "K": "k"}))
	if err == nil || !strings.Contains(err.Error(), "at most 20") {
		t.Errorf("21 endpoints: err = %v, want at most 20", err)
	}
}

func TestExitCodeOtherErrors(t *testing.T) {
	if ExitCode(errors.New("dial: connection refused")) != 1 {
		t.Error("a failure that is not configuration must exit 1")
	}
}

// TestNewActivitiesServesEachEndpoint: one client and pool per endpoint,
// chosen by name; DescribeEndpoint names it and never carries a key; an
// unknown name fails not retryably.
func TestNewActivitiesServesEachEndpoint(t *testing.T) {
	acts := NewActivities(Config{APIKey: secret, BaseURL: "http://127.0.0.1:8000/v1", Endpoints: []Endpoint{
		{Name: "local", BaseURL: "http://127.0.0.1:9000/v1/", APIKey: otherSecret, Label: "vLLM"},
	}})
	if got := acts.EndpointNames(); !slices.Equal(got, []string{"default", "local"}) {
		t.Errorf("served %v, want [default local]", got)
	}
	local := acts.Others["local"]
	if local == nil || local.Client == nil || local.Pool == nil || local.Pool == acts.Pool || local.Secret != otherSecret {
		t.Fatalf("local endpoint not built with its own client, pool and key: %+v", local)
	}

	var s testsuite.WorkflowTestSuite
	tenv := s.NewTestActivityEnvironment()
	activities.Register(tenv, acts)
	for _, tc := range []struct{ name, wantName, wantURL string }{
		{"", "default", "http://127.0.0.1:8000/v1"},
		{"default", "default", "http://127.0.0.1:8000/v1"},
		{"local", "local", "http://127.0.0.1:9000/v1"},
	} {
		val, err := tenv.ExecuteActivity(acts.DescribeEndpoint, activities.DescribeInput{Endpoint: tc.name})
		if err != nil {
			t.Fatalf("describe %q: %v", tc.name, err)
		}
		var ep record.Endpoint
		if err := val.Get(&ep); err != nil {
			t.Fatal(err)
		}
		if ep.Name != tc.wantName || ep.BaseURL != tc.wantURL {
			t.Errorf("describe %q = %+v, want name %s, base URL %s", tc.name, ep, tc.wantName, tc.wantURL)
		}
	}
	_, err := tenv.ExecuteActivity(acts.DescribeEndpoint, activities.DescribeInput{Endpoint: "nope"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.UnknownEndpointErrorType || !appErr.NonRetryable() {
		t.Fatalf("describe an unknown endpoint: err = %v, want a non-retryable %s", err, activities.UnknownEndpointErrorType)
	}
	if !strings.Contains(appErr.Message(), `"nope"`) || !strings.Contains(appErr.Message(), "default, local") {
		t.Errorf("message %q should name the endpoint asked for and those served", appErr.Message())
	}
	if _, err := acts.DescribeEndpoint(context.Background(), activities.DescribeInput{Endpoint: "local"}); err != nil {
		t.Error(err)
	}
}

func TestIdentityNamesEndpoints(t *testing.T) {
	id := Identity([]string{"default", "local"})
	if !strings.HasPrefix(id, strings.Split(id, "@")[0]+"@") || !strings.Contains(id, " endpoints=default,local") {
		t.Errorf("identity %q", id)
	}
	if len(Identity(slices.Repeat([]string{strings.Repeat("x", record.MaxEndpointNameLen)}, MaxEndpoints+1))) > 1000 {
		t.Error("the identity of a full allow-list passes Temporal's 1000-character limit")
	}
	if got := EndpointsOf(id); !slices.Equal(got, []string{"default", "local"}) {
		t.Errorf("EndpointsOf(%q) = %v", id, got)
	}
	if got := EndpointsOf("1234@host@"); !slices.Equal(got, []string{"default"}) {
		t.Errorf("a worker without endpoints in its identity serves default; got %v", got)
	}
}
