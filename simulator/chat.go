package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes bounds the size of a chat completion request body.
const maxBodyBytes = 8 << 20

// chatRequest holds the fields of an OpenAI chat completion request that the
// simulator uses; all other fields (temperature, tools, n, ...) are accepted
// and ignored.
type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []chatMessage  `json:"messages"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// invalidRequest describes a 400 response.
type invalidRequest struct {
	code  string
	param string
	msg   string
}

// parseChatRequest decodes and validates a chat completion request body.
func parseChatRequest(w http.ResponseWriter, r *http.Request) (*chatRequest, []promptMessage, *invalidRequest) {
	var req chatRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, &invalidRequest{"request_too_large", "", fmt.Sprintf("The request body is larger than %d bytes.", maxBodyBytes)}
		}
		return nil, nil, &invalidRequest{"invalid_json", "",
			fmt.Sprintf("We could not parse the JSON body of your request (%v). The OpenAI API expects a JSON payload.", err)}
	}
	if req.Model == "" {
		return nil, nil, &invalidRequest{"missing_required_parameter", "model", "You must provide a model parameter."}
	}
	if len(req.Messages) == 0 {
		return nil, nil, &invalidRequest{"empty_array", "messages", "Invalid 'messages': empty array. Expected an array with minimum length 1."}
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if p.v != nil && *p.v < 0 {
			return nil, nil, &invalidRequest{"integer_below_min_value", p.name,
				fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", p.name, *p.v)}
		}
	}
	msgs := make([]promptMessage, len(req.Messages))
	for i, m := range req.Messages {
		if m.Role == "" {
			return nil, nil, &invalidRequest{"missing_required_parameter", fmt.Sprintf("messages[%d].role", i),
				fmt.Sprintf("Missing required parameter: 'messages[%d].role'.", i)}
		}
		text, err := messageText(m.Content)
		if err != nil {
			return nil, nil, &invalidRequest{"invalid_type", fmt.Sprintf("messages[%d].content", i),
				fmt.Sprintf("Invalid type for 'messages[%d].content': %v.", i, err)}
		}
		msgs[i] = promptMessage{role: m.Role, text: text}
	}
	return &req, msgs, nil
}

// messageText extracts the text of a message content, which is a string,
// null/absent, or an array of content parts whose "text" fields are joined
// with newlines (non-text parts contribute nothing).
func messageText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '[':
		var parts []struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", fmt.Errorf("expected an array of content parts")
		}
		texts := make([]string, 0, len(parts))
		for _, p := range parts {
			if p.Text != "" {
				texts = append(texts, p.Text)
			}
		}
		return strings.Join(texts, "\n"), nil
	default:
		return "", fmt.Errorf("expected a string or an array of content parts")
	}
}

// completionLength is the number of completion tokens a request gets and
// its finish reason: "length" when max_tokens or max_completion_tokens (the
// smaller of those set to a positive value) is below cfg.OutputTokens.
func (s *Server) completionLength(req *chatRequest) (int, string) {
	n, finish := s.cfg.OutputTokens, "stop"
	for _, limit := range []*int{req.MaxTokens, req.MaxCompletionTokens} {
		if limit != nil && *limit > 0 && *limit < n {
			n, finish = *limit, "length"
		}
	}
	return n, finish
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type responseMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type completionChoice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

type chatCompletion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   usage              `json:"usage"`
}

type chunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

type chatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usage        `json:"usage,omitempty"`
}

// answer is a chat completion about to be sent.
type answer struct {
	id      string
	created int64
	model   string
	words   []string // one token each
	finish  string
	usage   usage
	jitter  time.Duration
	// scale is the drift's latency multiplier when the request got its
	// slot (see Drift).
	scale        float64
	includeUsage bool
	// fault is faultTruncate, faultStallStream or faultMalformed when the
	// answer is to go wrong after its headers; faultNone otherwise.
	fault fault
}

// handleChat serves POST /v1/chat/completions. The steps, in order: admit
// the request (auth, parse/validate, model, rate limit), answer a planned
// fault, wait for a concurrency slot, then answer after the latency.
func (s *Server) handleChat(ex *exchange) {
	call, ok := s.admitChat(ex)
	if !ok {
		return
	}
	p := s.planFor(call.req.Model, call.msgs)
	if s.hostile(ex, call.req, p.fault) || s.answerFault(ex, p.fault) {
		return
	}
	if !s.waitForSlot(ex) {
		return
	}
	defer s.gate.release()
	if s.onAdmit != nil {
		s.onAdmit()
	}
	a := s.newAnswer(call, p)
	if call.req.Stream && !s.cfg.NoStream {
		s.stream(ex, a)
	} else {
		s.complete(ex, a)
	}
}

// chatCall is a chat completion request that admitChat let in.
type chatCall struct {
	req  *chatRequest
	msgs []promptMessage
	// promptTokens and completionTokens count the request's tokens;
	// finish is the finish reason its completion length implies.
	promptTokens     int
	completionTokens int
	finish           string
}

// admitChat checks a chat completion request in order: the key, the body,
// the model, then the rate limit. When one fails it answers the request
// (401, 400, 404 or 429) and reports false.
func (s *Server) admitChat(ex *exchange) (chatCall, bool) {
	if !s.authorized(ex) {
		return chatCall{}, false
	}
	req, msgs, bad := parseChatRequest(ex.w, ex.r)
	if bad != nil {
		s.setPeekRateHeaders(ex.w.Header())
		ex.writeError(http.StatusBadRequest, "invalid_request_error", bad.code, bad.param, bad.msg)
		return chatCall{}, false
	}
	if ex.deployment != "" {
		req.Model = ex.deployment // Azure: the deployment is the model
	}
	if !s.models[req.Model] {
		s.setPeekRateHeaders(ex.w.Header())
		s.writeModelNotFound(ex, req.Model)
		return chatCall{}, false
	}
	call := chatCall{req: req, msgs: msgs, promptTokens: countPromptTokens(msgs)}
	call.completionTokens, call.finish = s.completionLength(req)
	if !s.takeRate(ex, call.promptTokens+call.completionTokens) {
		return chatCall{}, false
	}
	return call, true
}

// takeRate counts a request of tokens against the rate limit, if any, and
// sets the x-ratelimit-* headers. Over the limit it answers 429 with
// Retry-After and reports false.
func (s *Server) takeRate(ex *exchange, tokens int) bool {
	if s.rl == nil {
		return true
	}
	h := ex.w.Header()
	st, ok := s.rl.take(tokens)
	st.setHeaders(h)
	if ok {
		return true
	}
	h.Set("Retry-After", strconv.Itoa(st.retryAfterSeconds()))
	if s.cfg.Azure {
		setAzureRetryAfter(h, st.retryAfterSeconds())
	}
	ex.writeError(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "",
		fmt.Sprintf("Rate limit reached for requests per %v: Limit %d, Used %d, Requested 1. Please try again in %s.",
			s.cfg.RateWindow, st.limit, st.limit-st.remaining, formatReset(st.reset)))
	return false
}

// answerFault answers a request whose planned fault comes before the
// concurrency gate (500, 503, drop, stall, 429) and reports true; a
// slow_headers fault waits SlowHeadersFor first and reports true only when
// that wait was cut short. Other faults are left to the answer (false).
func (s *Server) answerFault(ex *exchange, f fault) bool {
	switch f {
	case fault500:
		ex.writeError(http.StatusInternalServerError, "server_error", "server_error", "",
			"The server had an error while processing your request. Sorry about that! (simulated fault)")
	case fault503:
		ex.writeError(http.StatusServiceUnavailable, "server_error", "overloaded", "",
			"The engine is currently overloaded, please try again later. (simulated fault)")
	case faultDrop:
		ex.drop()
	case faultStall:
		s.stall(ex)
	case fault429:
		ex.w.Header().Set("Retry-After", "1")
		ex.writeError(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "",
			"Rate limit reached for requests. Please try again in 1s. (simulated fault)")
	case faultSlowHeaders:
		if err := s.sleep(ex.r.Context(), s.cfg.Faults.SlowHeadersFor); err != nil {
			s.abandon(ex, err)
			return true
		}
		return false
	default:
		return false
	}
	return true
}

// waitForSlot queues the request at the concurrency gate until it gets a
// slot (true; the caller then releases it) or the client goes away or the
// Server closes (false; the request is abandoned).
func (s *Server) waitForSlot(ex *exchange) bool {
	t := s.gate.join()
	if !t.granted() && s.onQueue != nil {
		s.onQueue()
	}
	if err := t.wait(ex.r.Context(), s.done); err != nil {
		s.abandon(ex, err)
		return false
	}
	return true
}

// newAnswer builds the answer to an admitted request from its plan: the
// first completionTokens words, the usage, the jitter, the drift's latency
// scale now, and the fault when it strikes after the headers.
func (s *Server) newAnswer(call chatCall, p plan) answer {
	n := call.completionTokens
	a := answer{
		id:      fmt.Sprintf("chatcmpl-sim%016x%06d", p.key, s.seq.Add(1)%1000000),
		created: time.Now().Unix(),
		model:   call.req.Model,
		words:   p.words[:n],
		finish:  call.finish,
		usage: usage{
			PromptTokens:     call.promptTokens,
			CompletionTokens: n,
			TotalTokens:      call.promptTokens + n,
		},
		jitter:       p.jitter,
		scale:        s.drift.scale(),
		includeUsage: call.req.StreamOptions != nil && call.req.StreamOptions.IncludeUsage,
	}
	switch p.fault {
	case faultTruncate, faultStallStream, faultMalformed:
		a.fault = p.fault
	}
	return a
}

// setPeekRateHeaders sets the x-ratelimit-* headers for a response that does
// not count against the limit.
func (s *Server) setPeekRateHeaders(h http.Header) {
	if s.rl != nil {
		s.rl.peek().setHeaders(h)
	}
}

// stall holds the request without answering (more) until the client gives
// up, StallFor elapses or the Server closes; in the last two cases the
// connection is then closed without (the rest of) a response.
func (s *Server) stall(ex *exchange) {
	if s.onStall != nil {
		s.onStall()
	}
	err := s.sleep(ex.r.Context(), s.cfg.Faults.StallFor)
	if err != nil && !errors.Is(err, errClosed) {
		return // the client gave up
	}
	ex.drop()
}

// malformedBody is the body of a Malformed non-streamed answer: what a
// misbehaving proxy may send with a 200.
const malformedBody = "<html><body><h1>200 OK</h1><p>upstream answered (simulated fault)</p></body></html>\n"

// malformedChunk is the "data:" payload of a Malformed streamed answer.
const malformedChunk = `{"id":"chatcmpl-sim","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":`

// abandon ends a request whose wait was cut short: when the Server closed,
// the connection is closed without (the rest of) a response; when the client
// went away there is nobody to answer.
func (s *Server) abandon(ex *exchange, err error) {
	if errors.Is(err, errClosed) {
		ex.drop()
	}
}

// complete sends a non-streamed answer after Latency + jitter + PerToken
// per completion token.
func (s *Server) complete(ex *exchange, a answer) {
	d := scaled(s.cfg.Latency+a.jitter+s.cfg.PerToken*time.Duration(len(a.words)), a.scale)
	if err := s.sleep(ex.r.Context(), d); err != nil {
		s.abandon(ex, err)
		return
	}
	completion := chatCompletion{
		ID:      a.id,
		Object:  "chat.completion",
		Created: a.created,
		Model:   a.model,
		Choices: []completionChoice{{
			Index:        0,
			Message:      responseMessage{Role: "assistant", Content: strings.Join(a.words, " ")},
			FinishReason: a.finish,
		}},
		Usage: a.usage,
	}
	switch a.fault {
	case faultMalformed:
		h := ex.w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(malformedBody)))
		ex.writeHeader(http.StatusOK)
		_, _ = io.WriteString(ex.w, malformedBody)
	case faultTruncate, faultStallStream:
		b, _ := json.Marshal(completion) // cannot fail with these types
		b = append(b, '\n')
		h := ex.w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		ex.writeHeader(http.StatusOK)
		_, _ = ex.w.Write(b[:len(b)/2])
		_ = http.NewResponseController(ex.w).Flush()
		if a.fault == faultStallStream {
			s.stall(ex)
			return
		}
		ex.drop()
	default:
		ex.writeJSON(http.StatusOK, completion)
	}
}

// stream sends a streamed answer: after TTFT (or Latency + jitter) a chunk
// with the role and the first content chunk, then one content chunk per
// token every PerToken, a chunk with the finish reason, the usage chunk when
// requested, and "data: [DONE]". Every chunk is flushed. It stops as soon as
// the client goes away.
func (s *Server) stream(ex *exchange, a answer) {
	sc := s.streamSchedule(a)
	if err := s.sleep(ex.r.Context(), sc.first); err != nil {
		s.abandon(ex, err)
		return
	}
	cw := startStream(ex, a)
	if !cw.sendChunk([]chunkChoice{{Delta: chunkDelta{Role: "assistant", Content: textPtr("")}}}, nil) {
		return
	}
	if !s.streamWords(ex, cw, a, sc) {
		return
	}
	if !cw.sendChunk([]chunkChoice{{Delta: chunkDelta{}, FinishReason: textPtr(a.finish)}}, nil) {
		return
	}
	if a.includeUsage {
		u := a.usage
		if !cw.sendChunk([]chunkChoice{}, &u) {
			return
		}
	}
	cw.send([]byte("[DONE]"))
}

// schedule is when the chunks of a streamed answer are due. Chunks keep to
// a fixed schedule from the start (first chunk at first, token i
// perToken×i after it), so that the time spent writing them and a timer's
// lateness do not add up over a long stream.
type schedule struct {
	start           time.Time
	first, perToken time.Duration
}

// due is when the content chunk of token i is due.
func (sc schedule) due(i int) time.Time {
	return sc.start.Add(sc.first + time.Duration(i)*sc.perToken)
}

// streamSchedule starts the schedule of a streamed answer now: its first
// chunk after TTFT (or Latency + jitter), then one every PerToken, both
// scaled by the drift.
func (s *Server) streamSchedule(a answer) schedule {
	first := s.cfg.TTFT
	if first <= 0 {
		first = s.cfg.Latency + a.jitter
	}
	return schedule{
		first:    scaled(first, a.scale),
		perToken: scaled(s.cfg.PerToken, a.scale),
		start:    time.Now(),
	}
}

// streamWords sends one content chunk per word of a, each on schedule. A
// Truncate or StallStream answer breaks off after half of its content
// chunks (at least one); a Malformed one has a line that is not JSON after
// its first content chunk. It reports whether the stream goes on.
func (s *Server) streamWords(ex *exchange, cw chunkWriter, a answer, sc schedule) bool {
	breaks := a.fault == faultTruncate || a.fault == faultStallStream
	cutAt := max(1, len(a.words)/2)
	for i, w := range a.words {
		if i > 0 {
			if err := s.sleep(ex.r.Context(), time.Until(sc.due(i))); err != nil {
				s.abandon(ex, err)
				return false
			}
			w = " " + w
		}
		if !cw.sendChunk([]chunkChoice{{Delta: chunkDelta{Content: textPtr(w)}}}, nil) {
			return false
		}
		if i == 0 && a.fault == faultMalformed && !cw.send([]byte(malformedChunk)) {
			return false
		}
		if breaks && i+1 == cutAt {
			if a.fault == faultStallStream {
				s.stall(ex)
				return false
			}
			ex.drop()
		}
	}
	return true
}

// chunkWriter writes the "data:" lines of a streamed answer, flushing each.
type chunkWriter struct {
	ex *exchange
	rc *http.ResponseController
	// id, created and model are the answer's, repeated in every chunk.
	id      string
	created int64
	model   string
}

// startStream writes the 200 and the event-stream headers of a streamed
// answer and returns the writer of its chunks.
func startStream(ex *exchange, a answer) chunkWriter {
	h := ex.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	ex.writeHeader(http.StatusOK)
	return chunkWriter{ex: ex, rc: http.NewResponseController(ex.w), id: a.id, created: a.created, model: a.model}
}

// send writes one "data:" line and flushes it; false when the client has
// gone away.
func (cw chunkWriter) send(payload []byte) bool {
	if _, err := fmt.Fprintf(cw.ex.w, "data: %s\n\n", payload); err != nil {
		return false
	}
	if err := cw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	return true
}

// sendChunk sends one chat.completion.chunk; false when the client has gone
// away.
func (cw chunkWriter) sendChunk(choices []chunkChoice, u *usage) bool {
	b, err := json.Marshal(chatChunk{
		ID:      cw.id,
		Object:  "chat.completion.chunk",
		Created: cw.created,
		Model:   cw.model,
		Choices: choices,
		Usage:   u,
	})
	return err == nil && cw.send(b)
}

// textPtr returns a pointer to v, for the optional string fields of a chunk.
func textPtr(v string) *string { return &v }
