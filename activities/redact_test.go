package activities_test

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
	acts := newActs(key, srv.URL+"/v1")

	out := send(t, acts, batch(1))
	rec := onlyRecord(t, out)
	if rec.OK || !strings.Contains(rec.Error, "[redacted API key]") {
		t.Fatalf("error %q: want the echoed key replaced", rec.Error)
	}
	fail.Store(false)
	out = send(t, acts, batch(1))
	rec = onlyRecord(t, out)
	if !rec.OK || !strings.Contains(rec.Response, "[redacted API key]") {
		t.Fatalf("response %q (ok %v): want the echoed key replaced", rec.Response, rec.OK)
	}
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), key) {
		t.Fatalf("the key is in the batch result: %s", b)
	}
}
