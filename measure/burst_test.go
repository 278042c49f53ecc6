package measure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
)

// burstServer is an endpoint that counts the connections it accepts and
// holds every chat request until want of them are in service at once.
type burstServer struct {
	srv    *httptest.Server
	conns  atomic.Int32
	closed chan struct{} // one value per connection closed
	chats  atomic.Int32
	all    chan struct{} // closed once want chat requests are in
	once   sync.Once
	want   int32
}

// kind: "h1" plain HTTP/1.1, "h2" TLS with HTTP/2 (stream limit streams),
// "tls-h1" TLS with HTTP/1.1 only.
func newBurstServer(t *testing.T, kind string, streams, want int) *burstServer {
	t.Helper()
	b := &burstServer{all: make(chan struct{}), want: int32(want), closed: make(chan struct{}, 64)}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"no key"}}`, http.StatusUnauthorized)
			return
		}
		if b.chats.Add(1) == b.want {
			b.once.Do(func() { close(b.all) })
		}
		select {
		case <-b.all:
		case <-r.Context().Done():
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
	}))
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.conns.Add(1)
		case http.StateClosed:
			b.closed <- struct{}{}
		}
	}
	switch kind {
	case "h1":
		b.srv.Start()
	case "h2":
		b.srv.EnableHTTP2 = true
		b.srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: streams}
		b.srv.StartTLS()
	case "tls-h1":
		b.srv.StartTLS()
	}
	t.Cleanup(b.srv.Close)
	return b
}

func (b *burstServer) url() string { return b.srv.URL + "/v1" }

// client returns an HTTP client with a pool that trusts the server.
func (b *burstServer) client() (*http.Client, *ConnPool) {
	pool := &ConnPool{}
	hc := NewHTTPClient(pool)
	if b.srv.Certificate() != nil {
		roots := x509.NewCertPool()
		roots.AddCert(b.srv.Certificate())
		pool.Transport.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	return hc, pool
}

// send posts one chat request on slot s and returns its record's connection
// fields.
func send(t *testing.T, hc *http.Client, pool *ConnPool, base string, s *Slot) record.Request {
	t.Helper()
	c := &Capture{}
	ctx := WithSlot(WithCapture(t.Context(), c), s)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/completions", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rec record.Request
	resp, err := hc.Do(req)
	if err != nil {
		t.Errorf("request: %v", err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	c.conn.fill(&rec, pool)
	return rec
}

// TestBurstEveryKind: for each server kind, Warm opens the connections n
// requests need (n over HTTP/1.1, n / stream limit over HTTP/2) before the
// instant; the n requests then go out at once on them, every record says
// connection_warm and its protocol, and the server accepted no other
// connection.
func TestBurstEveryKind(t *testing.T) {
	for _, tc := range []struct {
		kind      string
		streams   int
		n         int
		wantConns int
		proto     string
	}{
		{"h1", 0, 5, 5, "HTTP/1.1"},
		{"tls-h1", 0, 5, 5, "HTTP/1.1"},
		{"h2", 2, 5, 3, "HTTP/2.0"},
		{"h2", 100, 5, 1, "HTTP/2.0"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			srv := newBurstServer(t, tc.kind, tc.streams, tc.n)
			hc, pool := srv.client()
			b := pool.Warm(t.Context(), srv.url(), tc.n)
			defer b.Close()
			if b.Err != nil {
				t.Fatal(b.Err)
			}
			if b.Conns() != tc.wantConns || b.Proto != tc.proto {
				t.Fatalf("Warm opened %d connections of %s, want %d of %s", b.Conns(), b.Proto, tc.wantConns, tc.proto)
			}
			recs := make([]record.Request, tc.n)
			var wg sync.WaitGroup
			for i := range tc.n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					recs[i] = send(t, hc, pool, srv.url(), b.Slot(i))
				}()
			}
			wg.Wait()
			conns := map[string]bool{}
			for i, r := range recs {
				if r.ConnectionWarm == nil || !*r.ConnectionWarm || r.Protocol != tc.proto || r.Connection == "" {
					t.Errorf("request %d: warm %v, protocol %q, connection %q; want warm, %s", i, r.ConnectionWarm, r.Protocol, r.Connection, tc.proto)
				}
				conns[r.Connection] = true
			}
			if len(conns) != tc.wantConns {
				t.Errorf("the requests used %d connections, want %d", len(conns), tc.wantConns)
			}
			// Every connection was accepted before its first request was
			// served, so the count is final.
			if got := srv.conns.Load(); int(got) != tc.wantConns {
				t.Errorf("the server accepted %d connections, want %d", got, tc.wantConns)
			}
		})
	}
}

// TestWithoutSlotTheRequestDials: a request without a slot goes through the
// transport; the first one dials and is cold, the next one reuses its
// connection and is warm.
func TestWithoutSlotTheRequestDials(t *testing.T) {
	for _, kind := range []string{"h1", "h2"} {
		t.Run(kind, func(t *testing.T) {
			srv := newBurstServer(t, kind, 100, 1)
			hc, pool := srv.client()
			first := send(t, hc, pool, srv.url(), nil)
			second := send(t, hc, pool, srv.url(), nil)
			if first.ConnectionWarm == nil || *first.ConnectionWarm {
				t.Errorf("first request: connection_warm %v, want false", first.ConnectionWarm)
			}
			if second.ConnectionWarm == nil || !*second.ConnectionWarm {
				t.Errorf("second request: connection_warm %v, want true", second.ConnectionWarm)
			}
			if first.Connection != second.Connection {
				t.Errorf("the second request used %s, not the first's %s", second.Connection, first.Connection)
			}
		})
	}
}

// TestSlotReusedAfterItsFirstRequest: a sender's later requests go out on
// its slot's connection once it is free.
func TestSlotReusedAfterItsFirstRequest(t *testing.T) {
	srv := newBurstServer(t, "h1", 0, 1)
	hc, pool := srv.client()
	b := pool.Warm(t.Context(), srv.url(), 1)
	defer b.Close()
	r1 := send(t, hc, pool, srv.url(), b.Slot(0))
	r2 := send(t, hc, pool, srv.url(), b.Slot(0))
	if r1.Connection != r2.Connection || !*r2.ConnectionWarm {
		t.Errorf("second request on %s (warm %v), want the slot's %s", r2.Connection, *r2.ConnectionWarm, r1.Connection)
	}
	if got := srv.conns.Load(); got != 1 {
		t.Errorf("server accepted %d connections, want 1", got)
	}
}

// TestWarmStopsAtDeadline: a cancelled warm-up opens nothing, and says why.
func TestWarmStopsAtDeadline(t *testing.T) {
	srv := newBurstServer(t, "h1", 0, 1)
	_, pool := srv.client()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := pool.Warm(ctx, srv.url(), 3)
	defer b.Close()
	if b.Conns() != 0 || b.Err == nil || b.Slot(0) != nil {
		t.Errorf("Warm with a cancelled context: %d connections, err %v", b.Conns(), b.Err)
	}
}

// TestBurstCloseClosesItsConnections: once the batch is done, its
// connections are closed (the server sees them go).
func TestBurstCloseClosesItsConnections(t *testing.T) {
	srv := newBurstServer(t, "h1", 0, 1)
	_, pool := srv.client()
	b := pool.Warm(t.Context(), srv.url(), 2)
	if b.Conns() != 2 {
		t.Fatalf("Warm opened %d connections, want 2", b.Conns())
	}
	b.Close()
	for range 2 {
		<-srv.closed
	}
}

// TestWarmNothingToDo: no URL, no host or no request: nothing is opened.
func TestWarmNothingToDo(t *testing.T) {
	_, pool := (&burstServer{srv: &httptest.Server{}}).client()
	for _, tc := range []struct {
		url string
		n   int
	}{{"", 3}, {"ftp://x/v1", 3}, {"http://127.0.0.1:1/v1", 0}} {
		b := pool.Warm(t.Context(), tc.url, tc.n)
		if b.Conns() != 0 || b.Slot(0) != nil {
			t.Errorf("Warm(%q, %d) opened %d connections", tc.url, tc.n, b.Conns())
		}
		b.Close()
	}
}

// TestProxyHonouredByWarmUpAndSends: with a proxy configured for the
// endpoint, the connections opened ahead go to the proxy, and the requests
// sent on them reach it as proxy requests (absolute URLs), like those the
// transport sends itself.
func TestProxyHonouredByWarmUpAndSends(t *testing.T) {
	var proxied, probes atomic.Int32
	var accepted atomic.Int32
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.IsAbs() && r.URL.Hostname() == "endpoint.invalid" {
			if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
				probes.Add(1)
			} else {
				proxied.Add(1)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
	}))
	proxy.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	proxy.Start()
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	pool := &ConnPool{}
	hc := NewHTTPClient(pool)
	pool.Transport.Proxy = http.ProxyURL(pu)
	const base = "http://endpoint.invalid/v1"
	b := pool.Warm(t.Context(), base, 2)
	defer b.Close()
	if b.Conns() != 2 {
		t.Fatalf("Warm opened %d connections, want 2 (err %v)", b.Conns(), b.Err)
	}
	for i := range 2 {
		r := send(t, hc, pool, base, b.Slot(i))
		if !*r.ConnectionWarm {
			t.Errorf("request %d through the proxy was cold", i)
		}
	}
	if proxied.Load() != 2 || probes.Load() != 2 || accepted.Load() != 2 {
		t.Errorf("the proxy got %d proxy requests and %d probes on %d connections, want 2 and 2 on 2", proxied.Load(), probes.Load(), accepted.Load())
	}
}

// TestHeldRequestLeavesAtTheRelease: a request built and handed to the
// transport before the instant is written only once the gate opens; its
// send time is the release.
func TestHeldRequestLeavesAtTheRelease(t *testing.T) {
	var arrived atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Store(time.Now().UnixNano())
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
	}))
	defer srv.Close()
	pool := &ConnPool{}
	hc := NewHTTPClient(pool)
	fire := make(chan struct{})
	released := make(chan struct{})
	c := &Capture{}
	ctx := WithHold(WithCapture(t.Context(), c), time.Now(), fire, func() { close(released) })
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	opened := time.Now()
	close(fire)
	<-released
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(0, arrived.Load()); got.Before(opened) {
		t.Errorf("the request arrived at %v, before the gate opened at %v", got, opened)
	}
	if sent := c.conn.sentAt(time.Time{}); sent.Before(opened) {
		t.Errorf("send time %v, before the gate opened at %v", sent, opened)
	}
}

// TestJoinSharesConnectionsAcrossBatches: the batches of one instant share
// their connections: over HTTP/2, 3 batches of 7 requests at 10 streams per
// connection take 3 connections, not one or more each; every request goes
// out warm on them.
func TestJoinSharesConnectionsAcrossBatches(t *testing.T) {
	srv := newBurstServer(t, "h2", 10, 21)
	hc, pool := srv.client()
	at := time.Now().Add(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	bursts := make([]*Burst, 3)
	var wg sync.WaitGroup
	for i := range bursts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bursts[i] = pool.Join(ctx, srv.url(), at, 7)
		}()
	}
	wg.Wait()
	var recs []record.Request
	var mu sync.Mutex
	for _, b := range bursts {
		if b.Err != nil || b.Slot(6) == nil || b.Slot(7) != nil {
			t.Fatalf("a batch got %d slots (err %v), want 7", len(b.slots), b.Err)
		}
		for i := range 7 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := send(t, hc, pool, srv.url(), b.Slot(i))
				mu.Lock()
				recs = append(recs, r)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	conns := map[string]bool{}
	for _, r := range recs {
		conns[r.Connection] = true
		if !*r.ConnectionWarm {
			t.Errorf("request on %s was cold", r.Connection)
		}
	}
	if len(conns) != 3 || srv.conns.Load() != 3 {
		t.Errorf("21 requests at 10 streams per connection used %d connections, the server accepted %d; want 3", len(conns), srv.conns.Load())
	}
	for _, b := range bursts[:2] {
		b.Close()
	}
	select {
	case <-srv.closed:
		t.Error("a connection was closed while a batch still used it")
	default:
	}
	bursts[2].Close()
	for range 3 {
		<-srv.closed
	}
}

// TestFinishWaitsForTheOtherBatches: a batch reports its result once every
// batch of its instant has finished.
func TestFinishWaitsForTheOtherBatches(t *testing.T) {
	srv := newBurstServer(t, "h1", 0, 1)
	_, pool := srv.client()
	at := time.Now().Add(time.Hour)
	b1 := pool.Join(t.Context(), srv.url(), at, 1)
	b2 := pool.Join(t.Context(), srv.url(), at, 1)
	defer b1.Close()
	defer b2.Close()
	done := make(chan struct{})
	go func() {
		b1.Finish(t.Context())
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("the first batch finished before the second")
	default:
	}
	b2.Finish(t.Context())
	<-done
}

// TestLateSendersWaitForTheBurst: when the connections are not open by the
// instant, the senders left without a slot wait for the ones being opened
// instead of each dialling its own.
func TestLateSendersWaitForTheBurst(t *testing.T) {
	srv := newBurstServer(t, "h1", 0, 3)
	hc, pool := srv.client()
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the instant has come before anything opened
	b := pool.Join(ctx, srv.url(), time.Now().Add(time.Hour), 3)
	defer b.Close()
	if b.Slot(0) != nil {
		t.Skip("a connection opened before the cancelled join returned")
	}
	refs := newSlotRefs(3)
	setSlots(refs, b)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &Capture{}
			rctx := context.WithValue(WithCapture(t.Context(), c), slotKey{}, &refs[i])
			req, _ := http.NewRequestWithContext(rctx, http.MethodPost, srv.url()+"/chat/completions", nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if got := srv.conns.Load(); got != 3 {
		t.Errorf("the server accepted %d connections, want the burst's 3", got)
	}
}

// TestHTTPSProxyTunnelsWarmUpAndSends: over HTTPS, the connections opened
// ahead go through the proxy's CONNECT tunnel, TLS and HTTP/2 inside it,
// and the requests sent on them are warm.
func TestHTTPSProxyTunnelsWarmUpAndSends(t *testing.T) {
	srv := newBurstServer(t, "h2", 100, 3)
	var connects atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		connects.Add(1)
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		// What the client sent after the CONNECT may already sit in the
		// hijacked connection's buffer (the server's background read takes
		// its first byte): copy from the buffer, not from the bare conn.
		down, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { _, _ = io.Copy(up, brw.Reader); up.Close() }()
		_, _ = io.Copy(down, up)
		down.Close()
	}))
	defer proxy.Close()
	hc, pool := srv.client()
	pu, _ := url.Parse(proxy.URL)
	pool.Transport.Proxy = http.ProxyURL(pu)
	b := pool.Warm(t.Context(), srv.url(), 3)
	defer b.Close()
	if b.Err != nil || b.Conns() != 1 || b.Proto != "HTTP/2.0" {
		t.Fatalf("Warm through the proxy: %d connections of %q, err %v; want 1 of HTTP/2.0", b.Conns(), b.Proto, b.Err)
	}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := send(t, hc, pool, srv.url(), b.Slot(i))
			if r.ConnectionWarm == nil || !*r.ConnectionWarm || r.Protocol != "HTTP/2.0" {
				t.Errorf("request %d: warm %v, protocol %q", i, r.ConnectionWarm, r.Protocol)
			}
		}()
	}
	wg.Wait()
	if connects.Load() != 1 || srv.conns.Load() != 1 {
		t.Errorf("%d CONNECTs, %d connections at the server; want 1 and 1", connects.Load(), srv.conns.Load())
	}
}

// TestHTTP1ConnectionsProbedAhead: over HTTP/1.1 each connection opened
// ahead carries one GET of the models list before the instant (its first
// request, so that the send at the instant is not), and stays open for the
// send; a server that closes a connection after that answer gets
// connections without it, as many as asked, all warm.
func TestHTTP1ConnectionsProbedAhead(t *testing.T) {
	for _, closeAfterProbe := range []bool{false, true} {
		t.Run(fmt.Sprintf("close=%v", closeAfterProbe), func(t *testing.T) {
			var probes, chats, accepted atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
					probes.Add(1)
					if closeAfterProbe {
						w.Header().Set("Connection", "close")
					}
					http.Error(w, `{"error":{"message":"no key"}}`, http.StatusUnauthorized)
					return
				}
				chats.Add(1)
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					accepted.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			pool := &ConnPool{}
			hc := NewHTTPClient(pool)
			base := srv.URL + "/v1"
			const n = 3
			b := pool.Warm(t.Context(), base, n)
			defer b.Close()
			if b.Conns() != n {
				t.Fatalf("Warm opened %d connections, want %d (err %v)", b.Conns(), n, b.Err)
			}
			for i := range n {
				if r := send(t, hc, pool, base, b.Slot(i)); !*r.ConnectionWarm {
					t.Errorf("request %d was cold", i)
				}
			}
			wantProbes, wantConns := int32(n), int32(n)
			if closeAfterProbe {
				// The first connection was probed, closed by the server,
				// and opened again without a probe.
				wantProbes, wantConns = 1, n+1
			}
			if probes.Load() != wantProbes || chats.Load() != n || accepted.Load() != wantConns {
				t.Errorf("server got %d probes and %d requests on %d connections, want %d, %d on %d", probes.Load(), chats.Load(), accepted.Load(), wantProbes, n, wantConns)
			}
		})
	}
}

// TestHTTP1ProbeLostNowAndThen: a server that drops a connection after a
// probe without saying so (as a reset would) costs that connection another
// open, not the probes of every later connection: a worker whose probes
// stopped after one lost connection sent its later bursts at twice the
// spread. A server that drops them all gets its connections without a
// probe after a few (at most two probes per connection of the first
// burst, opened in parallel), and every open still succeeds.
func TestHTTP1ProbeLostNowAndThen(t *testing.T) {
	for _, dropAll := range []bool{false, true} {
		t.Run(fmt.Sprintf("dropAll=%v", dropAll), func(t *testing.T) {
			var probes, dropped atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
					if probes.Add(1) == 1 || dropAll {
						dropped.Add(1)
						conn, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							conn.Close()
						}
						return
					}
					http.Error(w, `{"error":{"message":"no key"}}`, http.StatusUnauthorized)
					return
				}
				_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
			}))
			defer srv.Close()
			pool := &ConnPool{}
			NewHTTPClient(pool)
			base := srv.URL + "/v1"
			const n = 20
			for round := range 2 {
				before := probes.Load()
				b := pool.Warm(t.Context(), base, n)
				if b.Conns() != n {
					t.Fatalf("round %d: Warm opened %d connections, want %d (err %v)", round, b.Conns(), n, b.Err)
				}
				b.Close()
				got := probes.Load() - before
				switch {
				case !dropAll && round == 0 && got != n+1:
					t.Errorf("round 0: %d probes, want %d: the lost one's connection opened again with a probe", got, n+1)
				case !dropAll && round == 1 && got != n:
					t.Errorf("round 1: %d probes, want %d: one lost connection must not stop the probes", got, n)
				case dropAll && round == 1 && got != 0:
					t.Errorf("round 1: %d probes, want none once the server dropped every probed connection", got)
				}
			}
			if dropAll && dropped.Load() > maxH1ProbeTries*n {
				t.Errorf("%d probed connections dropped before the probes stopped, want at most %d per connection", dropped.Load(), maxH1ProbeTries)
			}
		})
	}
}
