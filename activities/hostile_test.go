package activities_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
)

// A hostile or broken endpoint: what it sends must not leak the key, follow
// it elsewhere, or exhaust the worker.

const hostileKey = "sk-proj-Zq3xW9vL2mN8bT5yR1cK7hJ4gF6dS0aP"

// completion is a non-streamed chat completion with content and model.
func completion(model, content string) string {
	b, _ := json.Marshal(map[string]any{
		"id": "x", "object": "chat.completion", "model": model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
	})
	return string(b)
}

// TestRedirectIsNeverFollowed: an allow-listed endpoint that answers 307 to
// another port of the same host (where Go's client would forward the
// Authorization header) gets a failed request of kind redirect, and the
// other server never hears from the worker, streamed or not.
func TestRedirectIsNeverFollowed(t *testing.T) {
	var other atomic.Int32
	var otherAuth atomic.Value
	otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, completion("m", "stolen"))
	}))
	defer otherSrv.Close()
	target := otherSrv.URL + "/v1/chat/completions"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+"?api-key=secret-in-query#frag", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	if !strings.HasPrefix(otherSrv.URL, "http://127.0.0.1:") || !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("want both servers on 127.0.0.1: %s, %s", srv.URL, otherSrv.URL)
	}
	acts := newActs(hostileKey, srv.URL+"/v1")
	for _, stream := range []bool{false, true} {
		in := batch(2)
		in.Stream = stream
		for _, rec := range send(t, acts, in).Records {
			if rec.OK || rec.ErrorKind != record.ErrorKindRedirect || rec.HTTPStatus != http.StatusTemporaryRedirect {
				t.Errorf("stream=%v: got ok=%v kind=%q status=%d, want a failed 307 of kind redirect", stream, rec.OK, rec.ErrorKind, rec.HTTPStatus)
			}
			if !strings.Contains(rec.Error, target) || strings.Contains(rec.Error, "secret-in-query") || strings.Contains(rec.Error, "frag") {
				t.Errorf("stream=%v: error %q: want the target as scheme, host and path only", stream, rec.Error)
			}
		}
	}
	if n := other.Load(); n != 0 {
		t.Fatalf("the redirect's target got %d requests (Authorization %q): the worker followed the redirect", n, otherAuth.Load())
	}
}

// TestRedactionCannotBeCutAround: the key echoed after thousands of
// newlines, cut in pieces, in the model field or in the rate-limit headers
// leaves no piece of 8 or more of its characters anywhere in the record.
func TestRedactionCannotBeCutAround(t *testing.T) {
	bodies := map[string]func(auth string) (status int, header map[string]string, body string){
		"newlines before the echo": func(auth string) (int, map[string]string, string) {
			return 500, nil, "x" + strings.Repeat("\n", 4000) + "Authorization: " + auth + "\n"
		},
		"spaces and newlines before the echo": func(auth string) (int, map[string]string, string) {
			return 500, nil, "x" + strings.Repeat(" \r\n\t", 1200) + auth
		},
		"echo cut at the error bound": func(auth string) (int, map[string]string, string) {
			pad := measure.ErrorBodyLimit - len("Bearer ") - 6
			return 502, nil, strings.Repeat("\n", pad) + auth + " and the rest"
		},
		"key split over lines": func(auth string) (int, map[string]string, string) {
			k := strings.TrimPrefix(auth, "Bearer ")
			return 500, nil, "got " + k[:13] + "\n" + k[13:27] + "\n" + k[27:]
		},
		"model field": func(auth string) (int, map[string]string, string) {
			return 200, nil, completion("gpt "+auth, "fine")
		},
		"rate-limit reset headers": func(auth string) (int, map[string]string, string) {
			return 200, map[string]string{
				"X-Ratelimit-Reset-Requests": auth,
				"X-Ratelimit-Reset-Tokens":   strings.TrimPrefix(auth, "Bearer ")[5:30],
				"X-Ratelimit-Limit-Requests": "10",
			}, completion("m", "fine")
		},
		"response with control characters": func(auth string) (int, map[string]string, string) {
			k := strings.TrimPrefix(auth, "Bearer ")
			return 200, nil, completion("m\x1b[31m", "a\x1b]0;"+k[:20]+"\x07"+k[20:]+"\u200b")
		},
	}
	for name, answer := range bodies {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				status, header, body := answer(r.Header.Get("Authorization"))
				for k, v := range header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprint(w, body)
			}))
			defer srv.Close()
			out := send(t, newActs(hostileKey, srv.URL+"/v1"), batch(1))
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+measure.MinKeyFragment <= len(hostileKey); i++ {
				if piece := hostileKey[i : i+measure.MinKeyFragment]; strings.Contains(string(b), piece) {
					t.Fatalf("the record holds %q, a piece of the key: %s", piece, b)
				}
			}
			if strings.ContainsAny(string(b), "\x1b\x07") || strings.Contains(string(b), `\u001b`) || strings.Contains(string(b), `\u0007`) {
				t.Errorf("the record holds control characters: %s", b)
			}
			rec := onlyRecord(t, out)
			if len(rec.Error) > 300+len("…") {
				t.Errorf("error is %d bytes long", len(rec.Error))
			}
		})
	}
}

// TestShortKeyDoesNotCorruptResponses: with OPENAI_API_KEY=test (the
// simulator's example), the word "test" inside other words stays in the
// responses.
func TestShortKeyDoesNotCorruptResponses(t *testing.T) {
	const text = "testing the tested contest; attest"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, completion("test-model", text))
	}))
	defer srv.Close()
	rec := onlyRecord(t, send(t, newActs("test", srv.URL+"/v1"), batch(1)))
	if !rec.OK || rec.Response != text || rec.Model != "test-model" {
		t.Fatalf("got ok=%v response %q model %q, want %q and test-model unchanged", rec.OK, rec.Response, rec.Model, text)
	}
}

// hugeBody writes a body of n bytes (a JSON string that never ends, or SSE
// data without a newline) and reports how much of it the client took.
type hugeBody struct {
	written atomic.Int64
}

func (h *hugeBody) write(w http.ResponseWriter, prefix string, n int64, fill byte) {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(prefix)
	buf := []byte(strings.Repeat(string(fill), 64<<10))
	for sent := int64(0); sent < n; sent += int64(len(buf)) {
		if _, err := bw.Write(buf); err != nil {
			return
		}
		h.written.Add(int64(len(buf)))
	}
	bw.Flush()
}

// TestBodiesAreBounded: a 256 MiB error body, a 1 GiB completion and a
// stream line that never ends are each read only up to their bound; the
// request fails (the error status's kind for an error, response_too_large
// otherwise) and its connection is closed, so the server stops writing.
func TestBodiesAreBounded(t *testing.T) {
	cases := []struct {
		name   string
		stream bool
		status int
		prefix string
		size   int64
		kind   string
	}{
		{"error body", false, 500, `{"error":{"message":"`, 256 << 20, record.ErrorKindHTTP5xx},
		{"rate limit with a huge body", false, 429, `{"error":{"message":"`, 256 << 20, record.ErrorKindRateLimited},
		{"completion", false, 200, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"`, 1 << 30, record.ErrorKindResponseTooLarge},
		{"stream line", true, 200, `data: {"choices":[{"index":0,"delta":{"content":"`, 1 << 30, record.ErrorKindResponseTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h hugeBody
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.stream {
					w.Header().Set("Content-Type", "text/event-stream")
				} else {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tc.status)
				h.write(w, tc.prefix, tc.size, 'a')
			}))
			defer srv.Close()
			in := batch(1)
			in.Stream = tc.stream
			rec := onlyRecord(t, send(t, newActs(hostileKey, srv.URL+"/v1"), in))
			srv.Close() // waits for the handler: the client closed the connection
			if rec.OK || rec.ErrorKind != tc.kind || rec.HTTPStatus != tc.status {
				t.Errorf("got ok=%v kind=%q status=%d error %q; want a failed %d of kind %s", rec.OK, rec.ErrorKind, rec.HTTPStatus, rec.Error, tc.status, tc.kind)
			}
			if w := h.written.Load(); w > 16<<20 {
				t.Errorf("the server wrote %d MiB before the client stopped reading; want the connection closed near the bound", w>>20)
			}
		})
	}
}

// TestBatchResultFitsThePayloadLimit: an endpoint that ignores max_tokens
// answers each of a shard's requests with 200 KiB, 3 MiB in all: the batch
// trims the response texts (response_truncated) so that its result fits
// Temporal's payload limit, and every record keeps its status, timings and
// tokens.
func TestBatchResultFitsThePayloadLimit(t *testing.T) {
	const n, each = 16, 200 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, completion("m", strings.Repeat("word ", each/5)))
	}))
	defer srv.Close()
	in := batch(n)
	in.Pass, in.Concurrency = record.PassConcurrent, n
	out := send(t, newActs(hostileKey, srv.URL+"/v1"), in)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > activities.MaxBatchResultBytes {
		t.Fatalf("the batch result is %d KiB, over %d KiB", len(b)>>10, activities.MaxBatchResultBytes>>10)
	}
	if len(out.Records) != n {
		t.Fatalf("got %d records, want %d", len(out.Records), n)
	}
	for _, rec := range out.Records {
		if !rec.OK || rec.HTTPStatus != 200 || rec.LatencySeconds <= 0 || rec.SentAt.IsZero() || rec.CompletionTokens != 3 {
			t.Errorf("record %d: ok=%v status=%d latency=%v tokens=%d: want the answer's status, timings and tokens", rec.Index, rec.OK, rec.HTTPStatus, rec.LatencySeconds, rec.CompletionTokens)
		}
		if !rec.ResponseTruncated || len(rec.Response) < 50<<10 || !strings.HasPrefix(rec.Response, "word word") {
			t.Errorf("record %d: truncated=%v, %d bytes of response: want a cut response of a fair share of the limit", rec.Index, rec.ResponseTruncated, len(rec.Response))
		}
	}
}

// TestHugeHeadersAreRefused: response headers past MaxHeaderBytes fail the
// request instead of being read (Go's default would read 10 MiB of them).
func TestHugeHeadersAreRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 64 {
			w.Header().Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", 4<<10))
		}
		fmt.Fprint(w, completion("m", "fine"))
	}))
	defer srv.Close()
	rec := onlyRecord(t, send(t, newActs(hostileKey, srv.URL+"/v1"), batch(1)))
	if rec.OK || rec.HTTPStatus != 0 {
		t.Fatalf("got ok=%v status %d: want a failure without a response", rec.OK, rec.HTTPStatus)
	}
}
