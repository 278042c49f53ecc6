package simulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

// ListenOptions say how StartWith serves: plain HTTP/1.1 (the zero value),
// or HTTPS with a self-signed certificate, offering HTTP/2 or not.
type ListenOptions struct {
	// TLS serves HTTPS with a self-signed certificate (ECDSA P-256)
	// generated at start for the listening address, 127.0.0.1, ::1 and
	// localhost.
	TLS bool
	// CertFile is where the certificate is written, in PEM, for clients to
	// trust (a Go client with SSL_CERT_FILE=CertFile). Empty: a new file in
	// the system's temporary folder; StartWith returns its name.
	CertFile string
	// HTTP1Only, with TLS, offers HTTP/1.1 only (no "h2" in ALPN).
	HTTP1Only bool
	// MaxConcurrentStreams is, over HTTP/2, the most streams a client may
	// have open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS); 0
	// means net/http's default (at least 100).
	MaxConcurrentStreams int
}

// StartWith is Start with ListenOptions. It returns the API base URL
// (https://… with TLS) and, with TLS, the file that holds the certificate.
func (s *Server) StartWith(addr string, o ListenOptions) (baseURL, certFile string, err error) {
	if !o.TLS {
		baseURL, err = s.Start(addr)
		return baseURL, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", "", errClosed
	}
	if s.httpSrv != nil {
		return "", "", errors.New("simulator: server already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", "", fmt.Errorf("simulator: %w", err)
	}
	cert, pemBytes, err := selfSigned(ln.Addr())
	if err != nil {
		ln.Close()
		return "", "", fmt.Errorf("simulator: certificate: %w", err)
	}
	certFile, err = writeCert(o.CertFile, pemBytes)
	if err != nil {
		ln.Close()
		return "", "", fmt.Errorf("simulator: write the certificate: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: readHeaderTimeout}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	if !o.HTTP1Only {
		srv.Protocols.SetHTTP2(true)
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: o.MaxConcurrentStreams}
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	serveDone := make(chan struct{})
	s.httpSrv, s.serveDone = srv, serveDone
	go func() {
		defer close(serveDone)
		_ = srv.ServeTLS(ln, "", "") // returns http.ErrServerClosed after Close
	}()
	return "https://" + ln.Addr().String() + s.apiRoot(), certFile, nil
}

// selfSigned makes a certificate for addr's host, 127.0.0.1, ::1 and
// localhost, valid from an hour ago for a year, and returns it with its PEM.
func selfSigned(addr net.Addr) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "llmconc simulator"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() && !ta.IP.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ta.IP)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes, nil
}

// writeCert writes pemBytes to name, or to a new temporary file when name
// is empty, and returns the file's name.
func writeCert(name string, pemBytes []byte) (string, error) {
	if name == "" {
		f, err := os.CreateTemp("", "llmconc-simulator-*.pem")
		if err != nil {
			return "", err
		}
		if _, err := f.Write(pemBytes); err != nil {
			f.Close()
			return "", err
		}
		return f.Name(), f.Close()
	}
	return name, os.WriteFile(name, pemBytes, 0o644)
}

// arrivalLog records when each chat completion request arrived (its
// handler started), so that a load generator can check, from the server's
// end, how close together its requests arrived.
type arrivalLog struct {
	mu sync.Mutex
	at []time.Time
}

// maxArrivals bounds the arrivals kept between resets (8 MB of times).
const maxArrivals = 1_000_000

func (l *arrivalLog) add(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.at) < maxArrivals {
		l.at = append(l.at, t)
	}
}

// Arrivals is what the simulator saw of the chat completion requests
// since it started, or since the last reset.
type Arrivals struct {
	Count int `json:"count"`
	// First and Last are the first and last arrivals (zero when none).
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// SpreadSeconds is Last - First: the server-side counterpart of a
	// client's start spread.
	SpreadSeconds float64 `json:"spread_seconds"`
	// P50SpreadSeconds is the time from the first arrival to the median one.
	P50SpreadSeconds float64 `json:"p50_spread_seconds"`
	// Times are the arrivals, in order, when asked for (ArrivalTimes,
	// GET /sim/arrivals?times=1): a load generator's schedule as the
	// server saw it.
	Times []time.Time `json:"times,omitempty"`
}

// ArrivalTimes is Arrivals with every arrival's time.
func (s *Server) ArrivalTimes(reset bool) Arrivals {
	return s.arrivalsOf(reset, true)
}

// Arrivals returns what the simulator saw arrive; reset starts a new log.
func (s *Server) Arrivals(reset bool) Arrivals {
	return s.arrivalsOf(reset, false)
}

func (s *Server) arrivalsOf(reset, times bool) Arrivals {
	l := &s.arrivals
	l.mu.Lock()
	at := l.at
	if reset {
		l.at = nil
	}
	l.mu.Unlock()
	a := Arrivals{Count: len(at)}
	if len(at) == 0 {
		return a
	}
	at = append([]time.Time(nil), at...)
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	a.First, a.Last = at[0], at[len(at)-1]
	a.SpreadSeconds = a.Last.Sub(a.First).Seconds()
	a.P50SpreadSeconds = at[len(at)/2].Sub(a.First).Seconds()
	if times {
		a.Times = at
	}
	return a
}

// handleSim serves the simulator's own endpoints, outside /v1:
// GET /sim/arrivals (Arrivals as JSON; ?reset=1 starts a new log after
// answering, ?times=1 adds every arrival's time) and GET /sim/stats (Stats as JSON). It reports whether path
// was one of them.
func (s *Server) handleSim(ex *exchange, path string) bool {
	switch path {
	case "/sim/arrivals":
		if s.allowMethod(ex, http.MethodGet) {
			q := ex.r.URL.Query()
			ex.writeJSON(http.StatusOK, s.arrivalsOf(q.Get("reset") != "", q.Get("times") != ""))
		}
	case "/sim/stats":
		if s.allowMethod(ex, http.MethodGet) {
			st := s.Stats()
			ex.writeJSON(http.StatusOK, map[string]any{
				"requests": st.Requests, "chat_requests": st.ChatRequests, "max_in_flight": st.MaxInFlight,
				"status_counts": countsJSON(st.StatusCounts), "chat_status_counts": countsJSON(st.ChatStatusCounts),
			})
		}
	default:
		return false
	}
	return true
}

// countsJSON is counts by status with the statuses as JSON object keys.
func countsJSON(counts map[int]int) map[string]int {
	out := map[string]int{}
	for k, v := range counts {
		out[fmt.Sprint(k)] = v
	}
	return out
}

// countsOf is the inverse of countsJSON.
func countsOf(counts map[string]int) map[int]int {
	out := map[int]int{}
	for k, n := range counts {
		var code int
		if _, err := fmt.Sscan(k, &code); err == nil {
			out[code] = n
		}
	}
	return out
}

// StatsFromJSON decodes the answer of GET /sim/stats.
func StatsFromJSON(b []byte) (Stats, error) {
	var v struct {
		Requests         int            `json:"requests"`
		ChatRequests     int            `json:"chat_requests"`
		MaxInFlight      int            `json:"max_in_flight"`
		StatusCounts     map[string]int `json:"status_counts"`
		ChatStatusCounts map[string]int `json:"chat_status_counts"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Stats{}, err
	}
	return Stats{Requests: v.Requests, ChatRequests: v.ChatRequests, MaxInFlight: v.MaxInFlight,
		StatusCounts: countsOf(v.StatusCounts), ChatStatusCounts: countsOf(v.ChatStatusCounts)}, nil
}
