package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/simulator"
)

// TestBurstOverTLSWithHTTP2: the path of a real key. The simulator runs in
// its own process over HTTPS, offering HTTP/2 with at most 100 streams per
// connection; the worker trusts its self-signed certificate through
// SSL_CERT_FILE. 300 requests sent at once all go out on connections opened,
// TLS and HTTP/2 SETTINGS included, before the send instant (several, as the
// stream limit requires), and the simulator sees all 300 in service at once.
func TestBurstOverTLSWithHTTP2(t *testing.T) {
	const n = 300
	key := "e2e-key-" + randHex(8)
	certFile := filepath.Join(t.TempDir(), "simulator.pem")
	base := startTLSSimulator(t, "-tls", "-cert-file", certFile, "-http2-max-streams", "100", "-latency", "2s", "-api-key", key)
	startProc(t, "worker", workerBin, binEnv("OPENAI_API_KEY="+key, "OPENAI_BASE_URL="+base, "SSL_CERT_FILE="+certFile))

	_, raw := runToJSON(t, "-requests", "300", "-passes", "concurrent", "-max-tokens", "8")
	var d struct {
		Concurrent struct {
			Successful      int  `json:"successful"`
			MaxInFlight     int  `json:"max_in_flight"`
			Connections     *int `json:"connections"`
			ColdConnections *int `json:"cold_connections"`
			Requests        []struct {
				Index          int    `json:"index"`
				Protocol       string `json:"protocol"`
				ConnectionWarm *bool  `json:"connection_warm"`
				Connection     string `json:"connection"`
			} `json:"requests"`
		} `json:"concurrent"`
		Conclusion struct {
			Text string `json:"text"`
		} `json:"conclusion"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Concurrent
	if c.Successful != n || len(c.Requests) != n {
		t.Fatalf("%d of %d requests succeeded (%d records)", c.Successful, n, len(c.Requests))
	}
	if c.ColdConnections == nil || *c.ColdConnections != 0 {
		t.Errorf("cold_connections = %v, want 0", c.ColdConnections)
	}
	// At most 100 streams per connection: at least 3 connections.
	if c.Connections == nil || *c.Connections < 3 {
		t.Errorf("connections = %v, want at least 3 at 100 streams each", c.Connections)
	}
	for _, r := range c.Requests {
		if r.ConnectionWarm == nil || !*r.ConnectionWarm || r.Protocol != "HTTP/2.0" || r.Connection == "" {
			t.Errorf("request %d: connection_warm %v, protocol %q, connection %q; want a warm HTTP/2.0 connection",
				r.Index, r.ConnectionWarm, r.Protocol, r.Connection)
		}
	}
	if strings.Contains(d.Conclusion.Text, "opened their connection") {
		t.Errorf("the conclusion warns of cold connections: %s", d.Conclusion.Text)
	}
	if st := simStats(t, base, certFile); st.MaxInFlight != n {
		t.Errorf("the simulator had at most %d requests in service at once, want %d", st.MaxInFlight, n)
	}
}

// startTLSSimulator runs the simulator binary with args on a free port and
// returns its https base URL once it has written its certificate; the
// test's cleanup stops it.
func startTLSSimulator(t *testing.T, args ...string) string {
	t.Helper()
	ls := simulatorLines(t, 2, args...)
	i := strings.Index(ls[0], "https://")
	if i < 0 || !strings.Contains(ls[1], "certificate in ") {
		t.Fatalf("the simulator did not say where it serves and where its certificate is: %q", ls)
	}
	return strings.TrimSpace(ls[0][i:])
}

// simStats reads the simulator's /sim/stats over HTTPS, trusting certFile.
func simStats(t *testing.T, base, certFile string) simulator.Stats {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(strings.TrimSuffix(base, "/v1") + "/sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	st, err := simulator.StatsFromJSON(b)
	if err != nil {
		t.Fatalf("GET /sim/stats: %v: %s", err, b)
	}
	return st
}
