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

// handleChat serves POST /v1/chat/completions. The steps, in order: auth,
// parse/validate, model, rate limit, faults, concurrency gate, latency,
// response.
func (s *Server) handleChat(ex *exchange) {
	if !s.authorized(ex) {
		return
	}
	h := ex.w.Header()
	req, msgs, bad := parseChatRequest(ex.w, ex.r)
	if bad != nil {
		s.setPeekRateHeaders(h)
		ex.writeError(http.StatusBadRequest, "invalid_request_error", bad.code, bad.param, bad.msg)
		return
	}
	if !s.models[req.Model] {
		s.setPeekRateHeaders(h)
		s.writeModelNotFound(ex, req.Model)
		return
	}

	n, finish := s.completionLength(req)
	promptTokens := countPromptTokens(msgs)
	if s.rl != nil {
		st, ok := s.rl.take(promptTokens + n)
		st.setHeaders(h)
		if !ok {
			retry := st.retryAfterSeconds()
			h.Set("Retry-After", strconv.Itoa(retry))
			ex.writeError(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "",
				fmt.Sprintf("Rate limit reached for requests per %v: Limit %d, Used %d, Requested 1. Please try again in %s.",
					s.cfg.RateWindow, st.limit, st.limit-st.remaining, formatReset(st.reset)))
			return
		}
	}

	p := s.planFor(req.Model, msgs)
	if s.hostile(ex, req, p.fault) {
		return
	}
	switch p.fault {
	case fault500:
		ex.writeError(http.StatusInternalServerError, "server_error", "server_error", "",
			"The server had an error while processing your request. Sorry about that! (simulated fault)")
		return
	case fault503:
		ex.writeError(http.StatusServiceUnavailable, "server_error", "overloaded", "",
			"The engine is currently overloaded, please try again later. (simulated fault)")
		return
	case faultDrop:
		ex.drop()
		return
	case faultStall:
		s.stall(ex)
		return
	case fault429:
		h.Set("Retry-After", "1")
		ex.writeError(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "",
			"Rate limit reached for requests. Please try again in 1s. (simulated fault)")
		return
	case faultSlowHeaders:
		if err := s.sleep(ex.r.Context(), s.cfg.Faults.SlowHeadersFor); err != nil {
			s.abandon(ex, err)
			return
		}
	}

	t := s.gate.join()
	if !t.granted() && s.onQueue != nil {
		s.onQueue()
	}
	if err := t.wait(ex.r.Context(), s.done); err != nil {
		s.abandon(ex, err)
		return
	}
	defer s.gate.release()
	if s.onAdmit != nil {
		s.onAdmit()
	}

	a := answer{
		id:      fmt.Sprintf("chatcmpl-sim%016x%06d", p.key, s.seq.Add(1)%1000000),
		created: time.Now().Unix(),
		model:   req.Model,
		words:   p.words[:n],
		finish:  finish,
		usage: usage{
			PromptTokens:     promptTokens,
			CompletionTokens: n,
			TotalTokens:      promptTokens + n,
		},
		jitter:       p.jitter,
		scale:        s.drift.scale(),
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	}
	switch p.fault {
	case faultTruncate, faultStallStream, faultMalformed:
		a.fault = p.fault
	}
	if req.Stream && !s.cfg.NoStream {
		s.stream(ex, a)
	} else {
		s.complete(ex, a)
	}
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
	ctx := ex.r.Context()
	first := s.cfg.TTFT
	if first <= 0 {
		first = s.cfg.Latency + a.jitter
	}
	first = scaled(first, a.scale)
	perToken := scaled(s.cfg.PerToken, a.scale)
	// Chunks keep to a fixed schedule from the start (first chunk at first,
	// token i PerToken×i after it), so that the time spent writing them and
	// a timer's lateness do not add up over a long stream.
	start := time.Now()
	if err := s.sleep(ctx, first); err != nil {
		s.abandon(ex, err)
		return
	}

	h := ex.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	ex.writeHeader(http.StatusOK)
	rc := http.NewResponseController(ex.w)
	send := func(payload []byte) bool {
		if _, err := fmt.Fprintf(ex.w, "data: %s\n\n", payload); err != nil {
			return false
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		return true
	}
	sendChunk := func(choices []chunkChoice, u *usage) bool {
		b, err := json.Marshal(chatChunk{
			ID:      a.id,
			Object:  "chat.completion.chunk",
			Created: a.created,
			Model:   a.model,
			Choices: choices,
			Usage:   u,
		})
		return err == nil && send(b)
	}
	text := func(v string) *string { return &v }

	if !sendChunk([]chunkChoice{{Delta: chunkDelta{Role: "assistant", Content: text("")}}}, nil) {
		return
	}
	// A Truncate or StallStream answer breaks off after half of its content
	// chunks (at least one); a Malformed one has a line that is not JSON
	// after its first content chunk.
	breaks := a.fault == faultTruncate || a.fault == faultStallStream
	cutAt := max(1, len(a.words)/2)
	for i, w := range a.words {
		if i > 0 {
			if err := s.sleep(ctx, time.Until(start.Add(first+time.Duration(i)*perToken))); err != nil {
				s.abandon(ex, err)
				return
			}
			w = " " + w
		}
		if !sendChunk([]chunkChoice{{Delta: chunkDelta{Content: text(w)}}}, nil) {
			return
		}
		if i == 0 && a.fault == faultMalformed && !send([]byte(malformedChunk)) {
			return
		}
		if breaks && i+1 == cutAt {
			if a.fault == faultStallStream {
				s.stall(ex)
				return
			}
			ex.drop()
		}
	}
	if !sendChunk([]chunkChoice{{Delta: chunkDelta{}, FinishReason: text(a.finish)}}, nil) {
		return
	}
	if a.includeUsage {
		u := a.usage
		if !sendChunk([]chunkChoice{}, &u) {
			return
		}
	}
	send([]byte("[DONE]"))
}
