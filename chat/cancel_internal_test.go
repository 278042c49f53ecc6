package chat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
)

// A request whose context (its activity) is cancelled while it waits for its answer is
// cancelled, whether it waits for the headers or in the middle of a stream.
func TestErrorKindCancelled(t *testing.T) {
	for _, stream := range []bool{false, true} {
		arrived := make(chan struct{}, 1)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if stream {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}`+"\n\n")
				_ = http.NewResponseController(w).Flush()
			}
			arrived <- struct{}{}
			<-r.Context().Done()
		}))
		oc := openai.DefaultConfig("k")
		oc.BaseURL = ts.URL + "/v1"
		oc.HTTPClient = measure.NewHTTPClient(nil)
		s := &Sender{Client: openai.NewClientWithConfig(oc)}

		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-arrived
			cancel()
		}()
		rec := s.call(ctx, Params{Pass: record.PassSequential, Model: "m", Stream: stream, Timeout: time.Minute}, Prompt{Text: "wait"})
		cancel()
		ts.Close()
		if rec.OK || rec.ErrorKind != record.ErrorKindCancelled {
			t.Errorf("stream=%v: ok=%v kind=%q error=%q; want cancelled", stream, rec.OK, rec.ErrorKind, rec.Error)
		}
	}
}
