package chat_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestEchoedKeyIsRedacted: an endpoint (or a proxy in front of it) that
// echoes the Authorization header, in an error body or in a completion, must
// not carry the key into a record, and so into Temporal's history.
func TestEchoedKeyIsRedacted(t *testing.T) {
	const key = "echo-test-key-0123456789abcdef"
	var fail atomic.Bool
	fail.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		if fail.Load() {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, `{"error":{"message":"upstream refused %s","type":"proxy_error"}}`, auth)
			return
		}
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"you sent %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}`, auth)
	}))
	defer srv.Close()
	s := newSender(key, srv.URL+"/v1")

	out := send(t, s, batch(1))
	rec := onlyRecord(t, out)
	if rec.OK || !strings.Contains(rec.Error, "[redacted API key]") {
		t.Fatalf("error %q: want the echoed key replaced", rec.Error)
	}
	fail.Store(false)
	out = send(t, s, batch(1))
	rec = onlyRecord(t, out)
	if !rec.OK || !strings.Contains(rec.Response, "[redacted API key]") {
		t.Fatalf("response %q (ok %v): want the echoed key replaced", rec.Response, rec.OK)
	}
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), key) {
		t.Fatalf("the key is in the batch result: %s", b)
	}
}

// A key echoed in a streamed response, in the content (even split across
// chunks) or in an error event, is redacted too.
func TestEchoedKeyIsRedactedWhenStreamed(t *testing.T) {
	const key = "echo-test-key-0123456789abcdef"
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "text/event-stream")
		flush := http.NewResponseController(w).Flush
		if fail.Load() {
			fmt.Fprintf(w, "data: {\"error\":{\"message\":\"upstream refused %s\"}}\n\n", auth)
			flush()
			return
		}
		half := len(auth) - 10 // the key split across two chunks
		for _, part := range []string{"you sent ", auth[:half], auth[half:]} {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", part)
			flush()
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	s := newSender(key, srv.URL+"/v1")
	in := batch(1)
	in.Stream = true

	rec := onlyRecord(t, send(t, s, in))
	if !rec.OK || !strings.Contains(rec.Response, "[redacted API key]") {
		t.Fatalf("response %q (ok %v, error %q): want the echoed key replaced", rec.Response, rec.OK, rec.Error)
	}
	fail.Store(true)
	rec = onlyRecord(t, send(t, s, in))
	if rec.OK || !strings.Contains(rec.Error, "[redacted API key]") {
		t.Fatalf("error %q (ok %v): want the echoed key replaced", rec.Error, rec.OK)
	}
	if strings.Contains(rec.Error, key[:8]) {
		t.Errorf("error %q contains part of the key", rec.Error)
	}
}

// An error body is cut to the record's length only after redaction: a key
// that straddles the cut must not leave its first half behind.
func TestKeyAtTheCutIsRedacted(t *testing.T) {
	const key = "echo-test-key-0123456789abcdef"
	for _, pad := range []int{180, 190, 195, 260, 270} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "%s %s and more text after it", strings.Repeat("x", pad), r.Header.Get("Authorization"))
		}))
		rec := onlyRecord(t, send(t, newSender(key, srv.URL+"/v1"), batch(1)))
		srv.Close()
		if rec.OK || rec.HTTPStatus != http.StatusBadGateway {
			t.Fatalf("pad %d: want a failed 502, got ok=%v status=%d", pad, rec.OK, rec.HTTPStatus)
		}
		if strings.Contains(rec.Error, key[:8]) {
			t.Errorf("pad %d: error %q contains part of the key", pad, rec.Error)
		}
		if len(rec.Error) > 300+len("…") {
			t.Errorf("pad %d: error is %d bytes long", pad, len(rec.Error))
		}
	}
}
