package chat_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

// faultBatch sends three requests at once to a simulator with cfg; the
// middle one carries marker (a "[fault:NAME]" marker, or ""). It returns the
// records by index.
func faultBatch(t *testing.T, cfg simulator.Config, stream bool, timeout time.Duration, marker string) []record.Request {
	t.Helper()
	cfg.APIKey = testKey
	if cfg.Latency == 0 {
		cfg.Latency = 10 * time.Millisecond
	}
	if cfg.OutputTokens == 0 {
		cfg.OutputTokens = 6
	}
	_, base := startSim(t, cfg)
	in := batch(3)
	in.Concurrency = 3
	in.Stream = stream
	in.Timeout = timeout
	in.Prompts[1].Text = marker + " " + in.Prompts[1].Text
	out := send(t, newSender(testKey, base), in)
	recs := out.Records
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3: %+v", len(recs), recs)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Index < recs[j].Index })
	return recs
}

// checkOthersOK checks that the requests other than the faulty one (index
// 1) succeeded without an error kind.
func checkOthersOK(t *testing.T, recs []record.Request) {
	t.Helper()
	for _, r := range recs {
		if r.Index == 1 {
			continue
		}
		if !r.OK || r.ErrorKind != "" || r.Error != "" || r.HTTPStatus != http.StatusOK {
			t.Errorf("request %d, next to the faulty one: ok=%v status=%d kind=%q error=%q; want a success", r.Index, r.OK, r.HTTPStatus, r.ErrorKind, r.Error)
		}
	}
}

// Every fault of the simulator gives its error kind to the request that got
// it, and only to that one: the requests sent with it succeed.
func TestErrorKindsFromTheSimulator(t *testing.T) {
	const timeout = 600 * time.Millisecond // header and stall bounds: 300 ms
	hour := simulator.Faults{StallFor: time.Hour, SlowHeadersFor: time.Hour}
	tests := []struct {
		name   string
		marker string
		stream bool
		kind   string
		status int
		words  []string // in the error
	}{
		{"stall, plain", "[fault:stall]", false, record.ErrorKindTimeout, 0, []string{"no answer within the request timeout"}},
		{"body stalls after the headers, plain", "[fault:stall-stream]", false, record.ErrorKindTimeout, 200, []string{"request timeout"}},
		{"slow headers, plain: the request timeout covers them", "[fault:slow-headers]", false, record.ErrorKindTimeout, 0, []string{"request timeout"}},
		{"500", "[fault:error500]", false, record.ErrorKindHTTP5xx, 500, []string{"500"}},
		{"503", "[fault:error503]", true, record.ErrorKindHTTP5xx, 503, []string{"503"}},
		{"429", "[fault:error429]", false, record.ErrorKindRateLimited, 429, []string{"429"}},
		{"429 streamed", "[fault:error429]", true, record.ErrorKindRateLimited, 429, []string{"429"}},
		{"drop", "[fault:drop]", false, record.ErrorKindConnectionDropped, 0, []string{"EOF"}},
		{"drop streamed", "[fault:drop]", true, record.ErrorKindConnectionDropped, 0, []string{"EOF"}},
		{"body cut, plain", "[fault:truncate]", false, record.ErrorKindConnectionDropped, 200, []string{"unexpected EOF"}},
		{"stream cut", "[fault:truncate]", true, record.ErrorKindStreamTruncated, 200, []string{"stream ended before the response was complete", "after 3 content chunks"}},
		{"stream stalls", "[fault:stall-stream]", true, record.ErrorKindStreamStalled, 200, []string{"the stream stalled", "300ms", "3 content chunks"}},
		{"malformed, plain", "[fault:malformed]", false, record.ErrorKindMalformedResponse, 200, []string{"malformed response (HTTP 200)"}},
		{"malformed chunk", "[fault:malformed]", true, record.ErrorKindMalformedResponse, 200, []string{"undecodable chunk"}},
		{"slow headers, streamed", "[fault:slow-headers]", true, record.ErrorKindSlowHeaders, 0, []string{"no response headers within 300ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The faults hold on for an hour: the batch returns only if
			// every bound ends its wait.
			recs := faultBatch(t, simulator.Config{Faults: hour}, tc.stream, timeout, tc.marker)
			r := recs[1]
			if r.OK || r.ErrorKind != tc.kind || r.HTTPStatus != tc.status {
				t.Errorf("faulty request: ok=%v kind=%q status=%d error=%q; want kind %q, status %d", r.OK, r.ErrorKind, r.HTTPStatus, r.Error, tc.kind, tc.status)
			}
			for _, w := range tc.words {
				if !strings.Contains(r.Error, w) {
					t.Errorf("error %q does not contain %q", r.Error, w)
				}
			}
			if r.Stream != tc.stream || r.TTFTSeconds != nil || r.Response != "" {
				t.Errorf("faulty request: stream=%v ttft=%v response=%q; want no success metrics", r.Stream, r.TTFTSeconds, r.Response)
			}
			checkOthersOK(t, recs)
		})
	}
}

// A wrong key is an http_4xx, as is an unknown model.
func TestErrorKindHTTP4xx(t *testing.T) {
	_, base := startSim(t, simulator.Config{APIKey: testKey})
	rec := onlyRecord(t, send(t, newSender("sk-wrong-key-9876543210", base), batch(1)))
	if rec.ErrorKind != record.ErrorKindHTTP4xx || rec.HTTPStatus != 401 {
		t.Errorf("wrong key: kind %q status %d, want http_4xx 401", rec.ErrorKind, rec.HTTPStatus)
	}
	in := batch(1)
	in.Model = "no-such-model"
	in.Stream = true
	rec = onlyRecord(t, send(t, newSender(testKey, base), in))
	if rec.ErrorKind != record.ErrorKindHTTP4xx || rec.HTTPStatus != 404 {
		t.Errorf("unknown model: kind %q status %d, want http_4xx 404", rec.ErrorKind, rec.HTTPStatus)
	}
}

// A stream that keeps sending, but too slowly to finish within the request
// timeout, is a timeout, not a stall: no gap reaches the stall bound.
func TestErrorKindStreamTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	_, base := startSim(t, simulator.Config{APIKey: testKey, TTFT: time.Millisecond, PerToken: 40 * time.Millisecond, OutputTokens: 50})
	in := streamBatch(1)
	in.Timeout = timeout
	rec := onlyRecord(t, send(t, newSender(testKey, base), in))
	if rec.OK || rec.ErrorKind != record.ErrorKindTimeout || rec.HTTPStatus != 200 {
		t.Fatalf("ok=%v kind=%q status=%d error=%q; want a timeout after HTTP 200", rec.OK, rec.ErrorKind, rec.HTTPStatus, rec.Error)
	}
	if !strings.Contains(rec.Error, "did not finish within the request timeout") {
		t.Errorf("error %q does not say the stream timed out", rec.Error)
	}
	if rec.LatencySeconds < (timeout - 20*time.Millisecond).Seconds() {
		t.Errorf("latency_seconds %.3f is well below the request timeout %s", rec.LatencySeconds, timeout)
	}
}

// A 200 that decodes but has no choices is no chat completion.
func TestErrorKindNoChoices(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer ts.Close()
	rec := onlyRecord(t, send(t, newSender(testKey, ts.URL+"/v1"), batch(1)))
	if rec.OK || rec.ErrorKind != record.ErrorKindMalformedResponse || !strings.Contains(rec.Error, "no choices") {
		t.Errorf("ok=%v kind=%q error=%q; want malformed_response", rec.OK, rec.ErrorKind, rec.Error)
	}
}

// A refused connection is none of the named kinds.
func TestErrorKindOther(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := onlyRecord(t, send(t, newSender(testKey, "http://"+addr+"/v1"), batch(1)))
	if rec.OK || rec.ErrorKind != record.ErrorKindOther {
		t.Errorf("ok=%v kind=%q error=%q; want other", rec.OK, rec.ErrorKind, rec.Error)
	}
}
