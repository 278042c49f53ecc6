package activities

import (
	"context"
	"net"
	"net/url"
	"sync"
)

// ConnPool holds TCP connections opened ahead of a concurrent pass's common
// send instant. The HTTP transport's dialer takes from it before it dials, so
// at the instant itself no request waits for a TCP handshake: the load tester
// equivalent of wrk opening its connections before it measures. Connections
// it still holds after a batch are closed.
type ConnPool struct {
	Dialer *net.Dialer

	mu    sync.Mutex
	conns map[string][]net.Conn
}

// DialContext hands out a pre-opened connection to addr if it has one, and
// dials otherwise. It is the transport's DialContext.
func (p *ConnPool) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if network == "tcp" {
		p.mu.Lock()
		if cs := p.conns[addr]; len(cs) > 0 {
			c := cs[len(cs)-1]
			p.conns[addr] = cs[:len(cs)-1]
			p.mu.Unlock()
			return c, nil
		}
		p.mu.Unlock()
	}
	return p.dialer().DialContext(ctx, network, addr)
}

func (p *ConnPool) dialer() *net.Dialer {
	if p.Dialer != nil {
		return p.Dialer
	}
	return &net.Dialer{}
}

// Warm opens n connections to the host of baseURL, in parallel, until ctx
// ends. Failures are ignored: the request will dial again and report them.
// It returns a func that closes what is left unused.
func (p *ConnPool) Warm(ctx context.Context, baseURL string, n int) (release func()) {
	addr := hostPort(baseURL)
	if addr == "" || n < 1 {
		return func() {}
	}
	var wg sync.WaitGroup
	var opened []net.Conn
	var mu sync.Mutex
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.dialer().DialContext(ctx, "tcp", addr)
			if err != nil {
				return
			}
			mu.Lock()
			opened = append(opened, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	p.mu.Lock()
	if p.conns == nil {
		p.conns = map[string][]net.Conn{}
	}
	p.conns[addr] = append(p.conns[addr], opened...)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		mine := map[net.Conn]bool{}
		for _, c := range opened {
			mine[c] = true
		}
		kept := p.conns[addr][:0]
		for _, c := range p.conns[addr] {
			if mine[c] {
				c.Close()
			} else {
				kept = append(kept, c)
			}
		}
		p.conns[addr] = kept
	}
}

// hostPort is the address the HTTP transport dials for baseURL.
func hostPort(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "https":
		return net.JoinHostPort(u.Hostname(), "443")
	case "http":
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return ""
}
