package workerhost

import (
	"strings"
	"testing"
)

// FuzzEndpoints: whatever LLMCONC_ENDPOINTS holds, ConfigFromEnv never
// panics; what it accepts has valid names and base URLs that are scheme,
// host and path; and no message repeats a key.
func FuzzEndpoints(f *testing.F) {
	for _, s := range []string{
		`[{"name": "local", "base_url": "http://127.0.0.1:8000/v1", "key_env": "LOCAL_KEY"}]`,
		`[{"name": "a", "base_url": "https://u:p@h/v1", "key_env": "K"}]`,
		`[{"name": "a", "base_url": "https://h/v1?api-key=x", "key_env": "K"}]`,
		`[{"name": "a", "base_url": "https://h/v1", "key_env": "sk-fuzz-SECRETSECRETSECRET"}]`,
		`[{"name": "a", "base_url": "https://h/sk-fuzz-SECRETSECRETSECRET", "key_env": "K"}]`,
		`[{"name": "A!", "base_url": "ftp://h", "key_env": ""}, {"name": "a", "api_key": "x"}]`,
		`[{"name": "g", "base_url": "https://h/v1", "key_env": "gsk_fuzzSECRETSECRETSECRET"}]`,
		`[]`, `[{}]`, `{"name": "a"}`, `[{"name": "default", "base_url": "http://h", "key_env": "K"}]`,
	} {
		f.Add(s)
	}
	const key = "sk-fuzz-SECRETSECRETSECRET"
	f.Fuzz(func(t *testing.T, spec string) {
		if !strings.HasPrefix(strings.TrimSpace(spec), "[") {
			return // a file's path: not this test's business
		}
		cfg, err := ConfigFromEnv(env(map[string]string{EnvEndpoints: spec, "K": key, "LOCAL_KEY": key, EnvAPIKey: key}))
		if err != nil {
			if strings.Contains(err.Error(), key[:12]) || strings.Contains(err.Error(), "gsk_fuzz") {
				t.Fatalf("the error repeats a key: %v", err)
			}
			return
		}
		for _, ep := range cfg.All() {
			if SafeURL(ep.BaseURL) != strings.TrimRight(strings.TrimSpace(ep.BaseURL), "/") {
				t.Fatalf("accepted base URL %q is more than scheme, host and path", ep.BaseURL)
			}
			if strings.Contains(ep.BaseURL, key[8:16]) {
				t.Fatalf("accepted a base URL with the key: %q", ep.BaseURL)
			}
		}
	})
}
