package simulator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tlsClient trusts the certificate in certFile, as SSL_CERT_FILE would.
func tlsClient(t *testing.T, certFile string, h2 bool) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in " + certFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: h2}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestStartWithTLS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  ListenOptions
		proto string
	}{
		{"h2", ListenOptions{TLS: true, MaxConcurrentStreams: 7}, "HTTP/2.0"},
		{"h1 only", ListenOptions{TLS: true, HTTP1Only: true}, "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Latency: time.Millisecond})
			tc.opts.CertFile = filepath.Join(t.TempDir(), "cert.pem")
			base, certFile, err := s.StartWith("127.0.0.1:0", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !strings.HasPrefix(base, "https://") || certFile != tc.opts.CertFile {
				t.Fatalf("StartWith = %q, %q", base, certFile)
			}
			hc := tlsClient(t, certFile, true)
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := hc.Post(base+"/chat/completions", "application/json",
						strings.NewReader(`{"model":"gpt-4.1-nano","messages":[{"role":"user","content":"hi"}]}`))
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					_, _ = io.Copy(io.Discard, resp.Body)
					if resp.StatusCode != 200 || resp.Proto != tc.proto {
						t.Errorf("status %d over %s, want 200 over %s", resp.StatusCode, resp.Proto, tc.proto)
					}
				}()
			}
			wg.Wait()
			if got := s.ArrivalTimes(false); len(got.Times) != 3 || !got.Times[0].Equal(got.First) || !got.Times[2].Equal(got.Last) {
				t.Errorf("arrival times %v, want the 3 arrivals in order", got.Times)
			}
			resp, err := hc.Get(strings.TrimSuffix(base, "/v1") + "/sim/arrivals?reset=1&times=1")
			if err != nil {
				t.Fatal(err)
			}
			var a Arrivals
			err = json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			if err != nil || a.Count != 3 || a.SpreadSeconds < 0 || a.First.IsZero() || len(a.Times) != 3 {
				t.Errorf("arrivals %+v (%v), want 3", a, err)
			}
			if got := s.Arrivals(false); got.Count != 0 {
				t.Errorf("after ?reset=1: %d arrivals, want 0", got.Count)
			}
		})
	}
}

// TestHTTP2StreamLimit: the server's SETTINGS carry the stream limit.
func TestHTTP2StreamLimit(t *testing.T) {
	s := New(Config{Latency: 200 * time.Millisecond})
	base, certFile, err := s.StartWith("127.0.0.1:0", ListenOptions{TLS: true, MaxConcurrentStreams: 2, CertFile: filepath.Join(t.TempDir(), "c.pem")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pemBytes, _ := os.ReadFile(certFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	cc, err := tr.NewClientConn(t.Context(), "https", strings.TrimPrefix(strings.TrimSuffix(base, "/v1"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/models", nil)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := cc.Available(); got != 2 {
		t.Errorf("after the server's SETTINGS, the connection takes %d streams, want 2", got)
	}
}

func TestStatsEndpoint(t *testing.T) {
	s := New(Config{})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get(strings.TrimSuffix(base, "/v1") + "/sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	st, err := StatsFromJSON(b)
	if err != nil || st.Requests != 1 || st.ChatRequests != 0 || !strings.Contains(string(b), `"chat_requests":0`) || !strings.Contains(string(b), `"chat_status_counts":{}`) {
		t.Errorf("GET /sim/stats = %s: %+v, %v", b, st, err)
	}
}
