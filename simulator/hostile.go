package simulator

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Hostile faults: what a broken or hostile endpoint may answer, to test
// that the worker neither follows it elsewhere nor runs out of memory nor
// loses records. They have no fraction: a request asks for one with a
// marker ("[fault:redirect]", "[fault:huge-body]", "[fault:huge-error]",
// "[fault:ignore-max-tokens]"). Their values stay clear of the faults of
// rand.go, so that new faults there keep their own.
const (
	faultRedirect fault = 100 + iota
	faultHugeBody
	faultHugeError
	faultIgnoreMaxTokens
)

func init() {
	faultNames[faultRedirect] = "redirect"
	faultNames[faultHugeBody] = "huge-body"
	faultNames[faultHugeError] = "huge-error"
	faultNames[faultIgnoreMaxTokens] = "ignore-max-tokens"
}

// HostileFaultNames returns the markers of the hostile faults.
func HostileFaultNames() []string {
	return []string{"redirect", "huge-body", "huge-error", "ignore-max-tokens"}
}

// Defaults of the hostile faults.
const (
	DefaultHugeBody             = 1 << 30
	DefaultIgnoreMaxTokensBytes = 200 << 10
)

// hostile answers a request that asked for a hostile fault, and reports
// whether it did.
func (s *Server) hostile(ex *exchange, req *chatRequest, f fault) bool {
	switch f {
	case faultRedirect:
		to := s.cfg.Faults.RedirectTo
		if to == "" {
			host, _, err := net.SplitHostPort(ex.r.Host)
			if err != nil {
				host = ex.r.Host
			}
			to = "http://" + net.JoinHostPort(host, "1") + ex.r.URL.Path
		}
		ex.w.Header().Set("Location", to)
		ex.writeHeader(http.StatusTemporaryRedirect)
	case faultHugeBody:
		if req.Stream {
			ex.w.Header().Set("Content-Type", "text/event-stream")
			s.writeHuge(ex, http.StatusOK, `data: {"id":"chatcmpl-sim","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"`)
		} else {
			ex.w.Header().Set("Content-Type", "application/json")
			s.writeHuge(ex, http.StatusOK, `{"id":"chatcmpl-sim","object":"chat.completion","model":"`+req.Model+`","choices":[{"index":0,"message":{"role":"assistant","content":"`)
		}
	case faultHugeError:
		ex.w.Header().Set("Content-Type", "application/json")
		s.writeHuge(ex, http.StatusInternalServerError, `{"error":{"type":"server_error","message":"`)
	case faultIgnoreMaxTokens:
		s.ignoreMaxTokens(ex, req)
	default:
		return false
	}
	return true
}

// writeHuge writes status, prefix and then HugeBody bytes of 'a', until
// the client stops reading.
func (s *Server) writeHuge(ex *exchange, status int, prefix string) {
	n := s.cfg.Faults.HugeBody
	if n <= 0 {
		n = DefaultHugeBody
	}
	ex.writeHeader(status)
	bw := bufio.NewWriterSize(ex.w, 64<<10)
	if _, err := bw.WriteString(prefix); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("a", 64<<10))
	for sent := int64(0); sent < n; sent += int64(len(chunk)) {
		if _, err := bw.Write(chunk); err != nil {
			return // the client closed the connection
		}
	}
	_ = bw.Flush()
}

// ignoreMaxTokens answers a whole completion of IgnoreMaxTokensBytes,
// streamed or not, whatever the request's max_tokens, after the usual
// latency.
func (s *Server) ignoreMaxTokens(ex *exchange, req *chatRequest) {
	size := s.cfg.Faults.IgnoreMaxTokensBytes
	if size <= 0 {
		size = DefaultIgnoreMaxTokensBytes
	}
	if err := s.sleep(ex.r.Context(), s.cfg.Latency); err != nil {
		s.abandon(ex, err)
		return
	}
	text := strings.Repeat("word ", size/5)
	words := size / 5
	id := "chatcmpl-sim-ignore-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if !req.Stream {
		ex.writeJSON(http.StatusOK, chatCompletion{
			ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
			Choices: []completionChoice{{Index: 0, Message: responseMessage{Role: "assistant", Content: text}, FinishReason: "length"}},
			Usage:   usage{PromptTokens: 1, CompletionTokens: words, TotalTokens: words + 1},
		})
		return
	}
	ex.w.Header().Set("Content-Type", "text/event-stream")
	ex.writeHeader(http.StatusOK)
	bw := bufio.NewWriter(ex.w)
	// Chunks of 1,000 words, each well inside a line bound.
	for i := 0; i < words; i += 1000 {
		n := min(1000, words-i)
		fmt.Fprintf(bw, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", id, req.Model, strings.Repeat("word ", n))
	}
	fmt.Fprintf(bw, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\ndata: [DONE]\n\n", id, req.Model, words, words+1)
	_ = bw.Flush()
}
