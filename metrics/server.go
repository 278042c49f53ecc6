package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Path is where the metrics are served.
const Path = "/metrics"

// DefaultPort is the port the documentation and deploy/prometheus use
// (OpenTelemetry's Prometheus exporter's usual port).
const DefaultPort = 9464

// Server serves a registry over HTTP at Path.
type Server struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// Listen listens on addr (host:port; port 0 picks a free one, see Addr) and
// serves h at Path. Its error is one line that says what is wrong with addr:
// not host:port, or a port taken.
func Listen(addr string, h http.Handler) (*Server, error) {
	if err := checkAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err
		}
		return nil, fmt.Errorf("cannot listen on %s: %v (is another process using the port? choose another one)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute},
		addr: ln.Addr(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// checkAddr checks that addr is host:port with a port number.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port, such as 127.0.0.1:%d (or :%d for every interface)", addr, DefaultPort, DefaultPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535, such as %d", addr, DefaultPort)
	}
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// URL is the metrics' URL, with the address the server listens on
// (localhost for every interface).
func (s *Server) URL() string {
	host := s.addr.String()
	if a, ok := s.addr.(*net.TCPAddr); ok && a.IP.IsUnspecified() {
		host = net.JoinHostPort("localhost", strconv.Itoa(a.Port))
	}
	return "http://" + host + Path
}

// Close stops the server, letting scrapes in progress finish until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
