package e2e

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/simulator"
)

// TestAzureEndpoint runs the simulator binary in Azure mode (its own
// process: deployment path, api-version query, api-key header) and a worker
// with three allow-list entries on it: "ms-azure" (kind azure, the simulator's
// api-version), "ms-azold" (kind azure, another api-version) and "ms-bearer" (an
// OpenAI entry on the deployment's URL, so the key goes in Authorization).
// -endpoint ms-azure -model DEPLOYMENT completes with a verdict and every record
// ok; ms-azold and ms-bearer each end at the warm-up with one clear line naming
// the 4xx (400 api-version, 401 key) and a result file saying so.
func TestAzureEndpoint(t *testing.T) {
	key := "e2e-azure-key-" + randHex(8)
	const deployment = "my-gpt-4.1-nano"
	base := startSimulatorProcess(t, "-azure", "-azure-api-version", "2024-10-21", "-api-key", key,
		"-models", deployment, "-latency", "50ms", "-tokens", "8")
	if strings.HasSuffix(base, "/v1") {
		t.Fatalf("an Azure-mode simulator serves at its resource URL, not %s", base)
	}
	list := `[{"name": "ms-azure", "kind": "azure", "base_url": "` + base + `", "api_version": "2024-10-21", "key_env": "AZ_KEY", "label": "simulated Azure"},
	          {"name": "ms-azold", "kind": "azure", "base_url": "` + base + `", "api_version": "2023-05-15", "key_env": "AZ_KEY"},
	          {"name": "ms-bearer", "base_url": "` + base + `/openai/deployments/` + deployment + `", "key_env": "AZ_KEY"}]`
	worker := startProc(t, "worker", workerBin, binEnv("LLMCONC_ENDPOINTS="+list, "AZ_KEY="+key))
	waitPolling(t, worker, "endpoints=ms-azold,ms-azure,ms-bearer")

	id := "e2e-azure-" + randHex(4)
	_, raw := runToJSON(t, "-endpoint", "ms-azure", "-model", deployment, "-requests", "3", "-max-tokens", "8", "-id", id)
	_, d := decodeDoc(t, raw)
	checkCompleted(t, d, id, 3)
	if d.Conclusion.Verdict == "" || d.Config.Endpoint != base || d.Config.Model != deployment {
		t.Errorf("verdict %q, endpoint %q, model %q; want a verdict, %s, %s", d.Conclusion.Verdict, d.Config.Endpoint, d.Config.Model, base, deployment)
	}

	for _, tc := range []struct {
		endpoint string
		status   int
		want     []string // in the starter's one line and the result's error
	}{
		{"ms-azold", 400, []string{"HTTP 400", "api-version", "2023-05-15", "2024-10-21"}},
		{"ms-bearer", 401, []string{"HTTP 401", "key_env"}},
	} {
		id := "e2e-azure-" + tc.endpoint + "-" + randHex(4)
		out := filepath.Join(t.TempDir(), "result.json")
		starter, code := runStarter(t, 2*time.Minute, "-endpoint", tc.endpoint, "-model", deployment,
			"-requests", "3", "-max-tokens", "8", "-id", id, "-out", out, "-timeout", "2m", "-request-timeout", "30s")
		if code != 1 {
			t.Errorf("-endpoint %s: starter exited %d, want 1\n%s", tc.endpoint, code, starter.output())
		}
		errLines := lines(starter.stderr.String())
		if len(errLines) != 1 {
			t.Errorf("-endpoint %s: want one line on stderr, got:\n%s", tc.endpoint, starter.stderr.String())
		}
		_, d := readDoc(t, out)
		for _, w := range tc.want {
			if !strings.Contains(starter.stderr.String(), w) || !strings.Contains(d.Error, w) {
				t.Errorf("-endpoint %s: stderr %q and error %q, want both to say %q", tc.endpoint, starter.stderr.String(), d.Error, w)
			}
		}
		if d.Warmup == nil || len(d.Warmup.Requests) != 1 || d.Warmup.Requests[0].HTTPStatus != tc.status {
			t.Errorf("-endpoint %s: want the warm-up's one request answered %d, got %+v", tc.endpoint, tc.status, d.Warmup)
		}
		if d.Sequential != nil && len(d.Sequential.Requests) > 0 {
			t.Errorf("-endpoint %s: the sequential pass ran after the fatal %d", tc.endpoint, tc.status)
		}
	}
	worker.stop(t)
	forms := leakForms(key)
	checkNoKey(t, "the result JSON", raw, forms)
	checkNoKey(t, "the worker's output", []byte(worker.output()), forms)
}

// TestAzureOverTLSWarmConnections: an Azure-mode simulator over HTTPS with
// HTTP/2. The worker opens the concurrent pass's connections ahead of its
// send instant with a keyless GET of {resource}/models, which an Azure
// resource answers 404: the connections are still warm (the answer's status
// does not matter, only that the server's SETTINGS came first), and every
// request of the pass succeeds on one of them.
func TestAzureOverTLSWarmConnections(t *testing.T) {
	const n = 20
	key := "e2e-azure-key-" + randHex(8)
	certFile := filepath.Join(t.TempDir(), "simulator.pem")
	base := startTLSSimulator(t, "-azure", "-tls", "-cert-file", certFile, "-api-key", key, "-models", "dep", "-latency", "200ms")
	list := `[{"name": "ms-azure", "kind": "azure", "base_url": "` + base + `", "api_version": "` + simulator.DefaultAzureAPIVersion + `", "key_env": "AZ_KEY"}]`
	worker := startProc(t, "worker", workerBin, binEnv("LLMCONC_ENDPOINTS="+list, "AZ_KEY="+key, "SSL_CERT_FILE="+certFile))
	waitPolling(t, worker, "endpoints=ms-azure")

	_, raw := runToJSON(t, "-endpoint", "ms-azure", "-model", "dep", "-requests", strconv.Itoa(n), "-passes", "concurrent", "-max-tokens", "8")
	var d struct {
		Concurrent struct {
			Successful      int  `json:"successful"`
			ColdConnections *int `json:"cold_connections"`
			Requests        []struct {
				Protocol       string `json:"protocol"`
				ConnectionWarm *bool  `json:"connection_warm"`
			} `json:"requests"`
		} `json:"concurrent"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Concurrent
	if c.Successful != n {
		t.Fatalf("%d of %d requests succeeded", c.Successful, n)
	}
	if c.ColdConnections == nil || *c.ColdConnections != 0 {
		t.Errorf("cold_connections = %v, want 0", c.ColdConnections)
	}
	for i, r := range c.Requests {
		if r.ConnectionWarm == nil || !*r.ConnectionWarm || r.Protocol != "HTTP/2.0" {
			t.Errorf("request %d: connection_warm %v, protocol %q; want a warm HTTP/2.0 connection", i, r.ConnectionWarm, r.Protocol)
		}
	}
}
