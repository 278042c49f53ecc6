package codec

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
)

// DefaultOrigins are the Temporal UIs allowed to call the codec server by
// default: the dev server's (`temporal server start-dev`, port 8233) and the
// one of docker-compose.yml (8080). A browser's origin is the host as typed,
// so both localhost and 127.0.0.1 (which `starter -dev` prints) are listed.
var DefaultOrigins = []string{"http://localhost:8233", "http://127.0.0.1:8233", "http://localhost:8080", "http://127.0.0.1:8080"}

// EnvServerToken, when set, is the bearer token the codec server requires
// (`Authorization: Bearer TOKEN`).
const EnvServerToken = "LLMCONC_CODEC_TOKEN"

// maxBody bounds a request: a history page's payloads, each under
// Temporal's 2 MiB limit.
const maxBody = 64 << 20

// ServerOptions configure Handler.
type ServerOptions struct {
	// Origins are the browser origins (scheme://host:port) allowed to call
	// the server; requests without an Origin header (the temporal CLI,
	// scripts) are not subject to it.
	Origins []string
	// Token, when not empty, is required as `Authorization: Bearer TOKEN`.
	Token string
}

// Handler serves Temporal's remote codec protocol for c: POST .../encode and
// .../decode with a Payloads message as protobuf JSON, at any path prefix
// (such as /{namespace}/decode). It answers CORS preflights for the allowed
// origins and, with a token, rejects requests that lack it.
func Handler(c converter.PayloadCodec, opts ServerOptions) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			if !slices.Contains(opts.Origins, origin) {
				http.Error(w, fmt.Sprintf("origin %s is not allowed: add it to the codec server's -origins", origin), http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			// A preflight carries no credentials.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if opts.Token != "" && !bearerIs(r.Header.Get("Authorization"), opts.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="llmconc codec"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		codec.ServeHTTP(w, r)
	})
}

func bearerIs(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// ServerConfig is the codec server program's configuration.
type ServerConfig struct {
	Listen  string   // address to listen on, host:port
	Origins []string // allowed browser origins
}

// ParseOrigins splits a comma-separated list of origins and checks each is
// scheme://host[:port] with nothing after.
func ParseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		scheme, rest, ok := strings.Cut(o, "://")
		if !ok || (scheme != "http" && scheme != "https") || rest == "" || strings.ContainsAny(rest, "/?#") {
			return nil, fmt.Errorf("origin %q is not scheme://host[:port] (such as http://localhost:8233)", o)
		}
		out = append(out, o)
	}
	return out, nil
}

// Server is the codec server program.
type Server struct {
	cfg   ServerConfig
	codec *Codec
	token string
}

// NewServer checks the configuration: the keys (EnvKey, EnvOldKeys) and the
// optional token (EnvServerToken) from getenv. An error here is the user's
// to fix.
func NewServer(cfg ServerConfig, getenv func(string) string) (*Server, error) {
	c, err := FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("%s is not set: the codec server needs the key the worker uses", EnvKey)
	}
	token := getenv(EnvServerToken)
	if token == "" && !IsLoopback(cfg.Listen) {
		// Whoever reaches it could have it decrypt every run.
		return nil, fmt.Errorf("-listen %s is not a loopback address: set %s so that only requests with the token are answered, or listen on 127.0.0.1", cfg.Listen, EnvServerToken)
	}
	return &Server{cfg: cfg, codec: c, token: token}, nil
}

// httpServer is the server Run serves with: every phase of a connection
// has a timeout, so that a slow or idle client cannot hold one for ever.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           Handler(s.codec, ServerOptions{Origins: s.cfg.Origins, Token: s.token}),
		ReadHeaderTimeout: 10 * time.Second,
		// A page of payloads (at most maxBody) takes far less.
		ReadTimeout:  time.Minute,
		WriteTimeout: time.Minute,
		IdleTimeout:  2 * time.Minute,
	}
}

// Run listens on the configured address, logs the URL it serves, and serves
// until ctx ends, then lets requests in flight finish for up to 5 s.
func (s *Server) Run(ctx context.Context, logf func(format string, args ...any)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	srv := s.httpServer()
	auth := "no token"
	if s.token != "" {
		auth = "bearer token from " + EnvServerToken
	}
	logf("codec server: listening on http://%s (key IDs %s; origins %s; %s)",
		ln.Addr(), strings.Join(s.codec.KeyIDs(), ", "), strings.Join(s.cfg.Origins, ", "), auth)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("codec server: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("codec server: shut down: %w", err)
	}
	return nil
}
