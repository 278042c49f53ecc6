package simulator

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errClosed is returned by waits that were cut short by Server.Close.
var errClosed = errors.New("simulator: server closed")

// modelsCreated is the fixed "created" timestamp reported for every model,
// so that GET /v1/models is deterministic.
const modelsCreated = 1700000000

// Stats is a snapshot of what a Server has seen.
type Stats struct {
	// Requests counts every HTTP request received by ServeHTTP (all paths
	// and methods, including rejected ones).
	Requests int
	// ChatRequests counts the requests to the chat completions path
	// (OpenAI's, or with -azure Azure's), whatever their method or
	// outcome: Requests less the other paths, such as the model list a
	// client's connection warm-up asks for.
	ChatRequests int
	// MaxInFlight is the highest number of chat completion requests served
	// at once, counted after the concurrency gate (queued requests are not
	// in flight).
	MaxInFlight int
	// StatusCounts counts responses by HTTP status. Requests that ended
	// without any response — dropped or stalled connections, clients that
	// gave up before the response started, requests aborted by Close — are
	// counted under 0. A response is counted before its status line is sent
	// (or its connection dropped), so once a client has seen the outcome of
	// a request, Stats already includes it.
	StatusCounts map[int]int
	// ChatStatusCounts is StatusCounts for the chat completions path
	// alone (the requests ChatRequests counts).
	ChatStatusCounts map[int]int
}

// Server is a simulated OpenAI-compatible endpoint. It is an http.Handler;
// use it with httptest.NewServer or let it listen with Start. Create it with
// New; its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	models map[string]bool
	gate   *gate
	rl     *rateLimiter // nil when cfg.RateLimit == 0
	drift  *driftClock
	seq    atomic.Uint64
	done   chan struct{} // closed by Close

	mu           sync.Mutex
	closed       bool
	active       sync.WaitGroup // running ServeHTTP calls; Add only under mu while !closed
	requests     int
	chats        int
	statusCounts map[int]int
	chatCounts   map[int]int
	httpSrv      *http.Server
	serveDone    chan struct{}
	arrivals     arrivalLog // when each chat request arrived (see Arrivals)

	// Test hooks, set before the server handles requests.
	onQueue func() // a chat request was queued at the concurrency gate
	onAdmit func() // a chat request got a concurrency slot
	onStall func() // a chat request started stalling
	onDone  func() // a ServeHTTP call is returning
}

// New returns a Server for cfg, with defaults applied to zero fields and
// out-of-range values clamped (see Config). It never panics.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:          cfg,
		models:       make(map[string]bool, len(cfg.Models)),
		gate:         &gate{limit: cfg.MaxConcurrent},
		drift:        &driftClock{d: cfg.Drift},
		done:         make(chan struct{}),
		statusCounts: make(map[int]int),
		chatCounts:   make(map[int]int),
	}
	for _, m := range cfg.Models {
		s.models[m] = true
	}
	if cfg.RateLimit > 0 {
		s.rl = &rateLimiter{
			limit:      cfg.RateLimit,
			window:     cfg.RateWindow,
			tokenLimit: cfg.TokenLimit,
			now:        time.Now,
		}
	}
	return s
}

// Config returns the effective configuration (with defaults applied).
func (s *Server) Config() Config {
	c := s.cfg
	c.Models = append([]string(nil), c.Models...)
	return c
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	_, _, maxInUse := s.gate.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Requests:         s.requests,
		ChatRequests:     s.chats,
		MaxInFlight:      maxInUse,
		StatusCounts:     maps.Clone(s.statusCounts),
		ChatStatusCounts: maps.Clone(s.chatCounts),
	}
}

// Start listens on addr (for example "127.0.0.1:0"), serves in the
// background and returns the API base URL, for example
// "http://127.0.0.1:41234/v1". It fails if the Server was already started or
// closed.
func (s *Server) Start(addr string) (baseURL string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errClosed
	}
	if s.httpSrv != nil {
		return "", errors.New("simulator: server already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("simulator: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: readHeaderTimeout}
	serveDone := make(chan struct{})
	s.httpSrv, s.serveDone = srv, serveDone
	go func() {
		defer close(serveDone)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return "http://" + ln.Addr().String() + s.apiRoot(), nil
}

// Close stops the listener started by Start (if any) and closes its
// connections, releases every stalled, queued or in-progress request (their
// connections are closed without a response), and waits for all running
// handlers to return. Requests arriving afterwards get 503. When the Server
// is mounted on an httptest.Server, call Close before the httptest server's
// Close, which otherwise waits for stalled requests. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	srv, serveDone := s.httpSrv, s.serveDone
	s.mu.Unlock()

	var err error
	if srv != nil {
		err = srv.Close()
		<-serveDone
	}
	s.active.Wait()
	return err
}

// exchange is one request/response pair; status is the status code written
// (0 until a response starts).
type exchange struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	status   int
	recorded bool
	// chat is set on the chat completions path (see Stats.ChatRequests).
	chat bool
	// deployment is the Azure deployment named by the path, which is the
	// model (Azure mode).
	deployment string
}

// record counts the outcome of the exchange in the stats, once. It runs
// before the client can observe the outcome (before the status line is
// written or the connection dropped), so a client that sees a response can
// rely on Stats already counting it.
func (ex *exchange) record(status int) {
	if ex.recorded {
		return
	}
	ex.recorded = true
	ex.s.mu.Lock()
	ex.s.statusCounts[status]++
	if ex.chat {
		ex.s.chatCounts[status]++
	}
	ex.s.mu.Unlock()
}

func (ex *exchange) writeHeader(status int) {
	ex.status = status
	ex.record(status)
	ex.w.WriteHeader(status)
}

func (ex *exchange) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen with the simulator's own types
		b = []byte(`{"error":{"message":"internal encoding error","type":"server_error","param":null,"code":"server_error"}}`)
		status = http.StatusInternalServerError
	}
	h := ex.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	ex.writeHeader(status)
	_, _ = ex.w.Write(append(b, '\n'))
}

// apiError is OpenAI's error object.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// writeError writes OpenAI's error body. param "" is encoded as null.
func (ex *exchange) writeError(status int, typ, code, param, msg string) {
	e := apiError{Message: msg, Type: typ, Code: code}
	if param != "" {
		e.Param = &param
	}
	ex.writeJSON(status, struct {
		Error apiError `json:"error"`
	}{e})
}

// drop closes the connection without writing a response. It hijacks the
// connection when possible (HTTP/1.x) and otherwise aborts the handler with
// http.ErrAbortHandler, which makes net/http close the connection or
// stream. After any part of a response was written, only the abort works.
func (ex *exchange) drop() {
	ex.record(0)
	if ex.status == 0 {
		if conn, _, err := http.NewResponseController(ex.w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := &exchange{s: s, w: w, r: r}
	s.mu.Lock()
	s.requests++
	closed := s.closed
	if !closed {
		s.active.Add(1)
	}
	s.mu.Unlock()
	if !closed {
		// Registered first so it runs last: once Close returns, the status
		// of every request it waited for is already counted.
		defer s.active.Done()
	}
	defer func() {
		ex.record(0) // no-op unless the request ended without a response
		if s.onDone != nil {
			s.onDone()
		}
	}()
	if closed {
		ex.writeError(http.StatusServiceUnavailable, "server_error", "server_shutting_down", "", "The simulator is shutting down.")
		return
	}
	w.Header().Set("x-request-id", fmt.Sprintf("req_sim%016x", s.seq.Add(1)))

	path := strings.TrimSuffix(r.URL.Path, "/")
	if s.cfg.Azure && s.serveAzure(ex, path) {
		return
	}
	switch {
	case path == "/v1/chat/completions":
		s.chatArrived(ex)
		if !s.allowMethod(ex, http.MethodPost) {
			return
		}
		s.handleChat(ex)
	case strings.HasPrefix(path, "/sim/") && s.handleSim(ex, path):
	case path == "/v1/models":
		if !s.allowMethod(ex, http.MethodGet) || !s.authorized(ex) {
			return
		}
		s.handleListModels(ex)
	case strings.HasPrefix(path, "/v1/models/"):
		if !s.allowMethod(ex, http.MethodGet) || !s.authorized(ex) {
			return
		}
		s.handleGetModel(ex, strings.TrimPrefix(path, "/v1/models/"))
	default:
		ex.writeError(http.StatusNotFound, "invalid_request_error", "unknown_url", "",
			fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
	}
}

// allowMethod answers 405 unless the request uses method.
func (s *Server) allowMethod(ex *exchange, method string) bool {
	if ex.r.Method == method {
		return true
	}
	ex.w.Header().Set("Allow", method)
	ex.writeError(http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "",
		fmt.Sprintf("Method %s is not allowed for %s; use %s.", ex.r.Method, ex.r.URL.Path, method))
	return false
}

// authorized answers 401 unless the request carries the configured key.
func (s *Server) authorized(ex *exchange) bool {
	if s.cfg.Azure {
		return s.authorizedAzure(ex)
	}
	if s.cfg.APIKey == "" {
		return true
	}
	auth := ex.r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) == 1 {
		return true
	}
	msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
	if ok {
		msg = fmt.Sprintf("Incorrect API key provided: %s.", redactKey(key))
	}
	ex.writeError(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "", msg)
	return false
}

// redactKey shows only the ends of a key, as OpenAI does.
func redactKey(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:3] + strings.Repeat("*", 8) + k[len(k)-4:]
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func newModelObject(id string) modelObject {
	return modelObject{ID: id, Object: "model", Created: modelsCreated, OwnedBy: "simulator"}
}

func (s *Server) handleListModels(ex *exchange) {
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: []modelObject{}}
	for _, m := range s.cfg.Models {
		list.Data = append(list.Data, newModelObject(m))
	}
	ex.writeJSON(http.StatusOK, list)
}

func (s *Server) handleGetModel(ex *exchange, id string) {
	if !s.models[id] {
		s.writeModelNotFound(ex, id)
		return
	}
	ex.writeJSON(http.StatusOK, newModelObject(id))
}

func (s *Server) writeModelNotFound(ex *exchange, model string) {
	ex.writeError(http.StatusNotFound, "invalid_request_error", "model_not_found", "",
		fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model))
}

// sleep waits for d, returning early with ctx.Err() when the client goes
// away or errClosed when the Server is closed.
func (s *Server) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		select {
		case <-s.done:
			return errClosed
		default:
			return ctx.Err()
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errClosed
	}
}

// readHeaderTimeout bounds how long a connection may wait for a request's
// headers, from the moment it was accepted (and between requests). A worker
// opens its connections before the instant it sends at, up to 20 s before
// at 10,000 requests at once; a busy simulator read the last of those
// requests more than 30 s after it accepted their connections, and closed
// 857 of them unread. Two minutes lets every request of such a burst in.
const readHeaderTimeout = 2 * time.Minute

// chatArrived notes the arrival of a request to the chat completions path.
func (s *Server) chatArrived(ex *exchange) {
	ex.chat = true
	s.arrivals.add(time.Now())
	s.mu.Lock()
	s.chats++
	s.mu.Unlock()
}
