package activities

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// acceptor is a listener the test controls: every accepted connection is
// sent on conns.
type acceptor struct {
	ln    net.Listener
	conns chan net.Conn
}

func newAcceptor(t *testing.T) *acceptor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &acceptor{ln: ln, conns: make(chan net.Conn, 64)}
	var (
		mu  sync.Mutex
		all []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			all = append(all, c)
			mu.Unlock()
			a.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range all {
			c.Close()
		}
	})
	return a
}

func (a *acceptor) url() string { return "http://" + a.ln.Addr().String() + "/v1" }

// accept returns the next accepted connection. The timeout only turns a hang
// into a failure.
func (a *acceptor) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-a.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
		return nil
	}
}

// acceptN returns the server ends of the next n connections, keyed by the
// client's address.
func (a *acceptor) acceptN(t *testing.T, n int) map[string]net.Conn {
	t.Helper()
	m := map[string]net.Conn{}
	for range n {
		c := a.accept(t)
		m[c.RemoteAddr().String()] = c
	}
	return m
}

// noMoreAccepts checks that no connection beyond those taken was accepted:
// it dials one marker connection, which must be the next one accepted.
func (a *acceptor) noMoreAccepts(t *testing.T) {
	t.Helper()
	marker, err := net.Dial("tcp", a.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	c := a.accept(t)
	if c.RemoteAddr().String() != marker.LocalAddr().String() {
		t.Errorf("an unexpected connection from %s was accepted", c.RemoteAddr())
	}
}

func TestWarmOpensConnections(t *testing.T) {
	a := newAcceptor(t)
	p := &ConnPool{}
	release := p.Warm(t.Context(), a.url(), 3)
	defer release()
	server := a.acceptN(t, 3)
	a.noMoreAccepts(t)

	addr := a.ln.Addr().String()
	p.mu.Lock()
	pooled := len(p.conns[addr])
	p.mu.Unlock()
	if pooled != 3 {
		t.Errorf("pool holds %d connections to %s, want 3", pooled, addr)
	}
	if len(server) != 3 {
		t.Errorf("server saw %d distinct connections, want 3", len(server))
	}
}

func TestDialContextUsesPooledConnectionsFirst(t *testing.T) {
	a := newAcceptor(t)
	addr := a.ln.Addr().String()
	p := &ConnPool{}
	release := p.Warm(t.Context(), a.url(), 2)
	defer release()
	warmed := a.acceptN(t, 2)

	var got []net.Conn
	for range 2 {
		c, err := p.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if warmed[c.LocalAddr().String()] == nil {
			t.Errorf("DialContext returned %s, not a pre-opened connection", c.LocalAddr())
		}
		got = append(got, c)
	}
	if got[0].LocalAddr().String() == got[1].LocalAddr().String() {
		t.Error("DialContext handed out the same connection twice")
	}

	// The pool is empty now: the next dial opens a new connection.
	c, err := p.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if warmed[c.LocalAddr().String()] != nil {
		t.Error("third DialContext returned a pre-opened connection again")
	}
	if s := a.accept(t); s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Errorf("the new dial's connection %s is not the one accepted (%s)", c.LocalAddr(), s.RemoteAddr())
	}
	a.noMoreAccepts(t)
}

func TestDialContextOtherAddressDials(t *testing.T) {
	a := newAcceptor(t)
	b := newAcceptor(t)
	p := &ConnPool{}
	release := p.Warm(t.Context(), a.url(), 1)
	defer release()
	warmed := a.acceptN(t, 1)

	c, err := p.DialContext(t.Context(), "tcp", b.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if warmed[c.LocalAddr().String()] != nil {
		t.Error("a connection pre-opened to another address was handed out")
	}
	b.accept(t)
}

func TestWarmReleaseClosesUnused(t *testing.T) {
	a := newAcceptor(t)
	addr := a.ln.Addr().String()
	p := &ConnPool{}
	release := p.Warm(t.Context(), a.url(), 3)
	server := a.acceptN(t, 3)

	used, err := p.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer used.Close()
	release()

	p.mu.Lock()
	left := len(p.conns[addr])
	p.mu.Unlock()
	if left != 0 {
		t.Errorf("pool still holds %d connections after release", left)
	}
	for clientAddr, s := range server {
		if clientAddr == used.LocalAddr().String() {
			// The connection handed out stays open.
			if _, err := used.Write([]byte("x")); err != nil {
				t.Errorf("the connection in use was closed by release: %v", err)
			}
			buf := make([]byte, 1)
			if _, err := io.ReadFull(s, buf); err != nil || buf[0] != 'x' {
				t.Errorf("server did not get the byte written on the connection in use: %v", err)
			}
			continue
		}
		// The unused ones are closed: the server reads EOF.
		if _, err := s.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("unused pre-opened connection from %s: server read %v, want EOF", clientAddr, err)
		}
	}
}

func TestWarmReleaseKeepsOtherBatchesConnections(t *testing.T) {
	a := newAcceptor(t)
	addr := a.ln.Addr().String()
	p := &ConnPool{}
	releaseA := p.Warm(t.Context(), a.url(), 2)
	fromA := a.acceptN(t, 2)
	releaseB := p.Warm(t.Context(), a.url(), 2)
	defer releaseB()
	fromB := a.acceptN(t, 2)

	releaseA()
	for range 2 {
		c, err := p.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if fromB[c.LocalAddr().String()] == nil {
			t.Errorf("after releasing batch A, DialContext returned %s, not one of batch B's connections", c.LocalAddr())
		}
	}
	for clientAddr, s := range fromA {
		if _, err := s.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("batch A's connection from %s: server read %v, want EOF", clientAddr, err)
		}
	}
}

func TestWarmNothingToDo(t *testing.T) {
	p := &ConnPool{}
	for _, tc := range []struct {
		url string
		n   int
	}{
		{"http://127.0.0.1:1/v1", 0},
		{"not a url", 3},
		{"ftp://example.com/v1", 3},
	} {
		release := p.Warm(t.Context(), tc.url, tc.n)
		release()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, cs := range p.conns {
		if len(cs) != 0 {
			t.Errorf("pool holds %d connections to %s", len(cs), addr)
		}
	}
}

func TestWarmStopsAtDeadline(t *testing.T) {
	a := newAcceptor(t)
	p := &ConnPool{}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	release := p.Warm(ctx, a.url(), 3)
	defer release()
	p.mu.Lock()
	n := len(p.conns[a.ln.Addr().String()])
	p.mu.Unlock()
	if n != 0 {
		t.Errorf("Warm with a cancelled context pooled %d connections", n)
	}
}

func TestHostPort(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://example.com/v1", "example.com:80"},
		{"https://api.openai.com/v1", "api.openai.com:443"},
		{"http://127.0.0.1:8080/v1", "127.0.0.1:8080"},
		{"https://example.com:8443/v1", "example.com:8443"},
		{"HTTPS://Example.com/v1", "Example.com:443"},
		{"http://[::1]/v1", "[::1]:80"},
		{"https://[::1]:9000/v1", "[::1]:9000"},
		{"ftp://example.com/v1", ""},
		{"example.com/v1", ""},
		{"", ""},
		{"http://%zz", ""},
	}
	for _, tc := range tests {
		if got := hostPort(tc.url); got != tc.want {
			t.Errorf("hostPort(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// TestCloseIdleConnectionsReachesTheTransport: the capture wrapper must pass
// CloseIdleConnections on, or a worker's idle sockets stay open.
func TestCloseIdleConnectionsReachesTheTransport(t *testing.T) {
	base := &closeCounter{}
	hc := &http.Client{Transport: CaptureTransport{Base: base}}
	hc.CloseIdleConnections()
	if base.closed != 1 {
		t.Fatalf("CloseIdleConnections reached the base transport %d times, want 1", base.closed)
	}
}

type closeCounter struct{ closed int }

func (c *closeCounter) RoundTrip(*http.Request) (*http.Response, error) { return nil, nil }
func (c *closeCounter) CloseIdleConnections()                           { c.closed++ }
