package chat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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

// A batch cut short by the end of its context while its requests wait for
// their answers hands each sent request's record (its send time, cancelled)
// to OnCutShort, and none to OnAnswer.
func TestBatchCutShortHandsOverItsSentRequests(t *testing.T) {
	const n = 3
	arrived := make(chan struct{}, n)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer ts.Close()
	oc := openai.DefaultConfig("k")
	oc.BaseURL = ts.URL + "/v1"
	oc.HTTPClient = measure.NewHTTPClient(nil)
	s := &Sender{Client: openai.NewClientWithConfig(oc)}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for range n {
			<-arrived
		}
		cancel()
	}()
	cut := make(chan record.Request, n)
	var answered atomic.Int32
	err := s.SendBatch(ctx, Batch{
		Params:      Params{Pass: record.PassConcurrent, Model: "m", Timeout: time.Minute},
		Prompts:     []Prompt{{Index: 0, Text: "a"}, {Index: 1, Text: "b"}, {Index: 2, Text: "c"}},
		Concurrency: n,
		OnAnswer:    func(record.Request) error { answered.Add(1); return nil },
		OnCutShort:  func(rec record.Request) { cut <- rec },
	})
	if err == nil {
		t.Error("SendBatch of a cancelled context returned no error")
	}
	close(cut)
	got := map[int]bool{}
	for rec := range cut {
		got[rec.Index] = true
		if rec.OK || rec.ErrorKind != record.ErrorKindCancelled || rec.SentAt.IsZero() {
			t.Errorf("request %d: ok=%v kind=%q sent_at=%v; want sent, then cancelled", rec.Index, rec.OK, rec.ErrorKind, rec.SentAt)
		}
	}
	if len(got) != n || answered.Load() != 0 {
		t.Errorf("%d requests cut short, %d answered; want %d and 0", len(got), answered.Load(), n)
	}
}
