package measure

import (
	"bufio"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// The clock finds the data lines that go-openai's reader hands out, however
// the bytes are split, and marks [DONE] and error lines as the reader does.
func TestEventClockClassifiesLines(t *testing.T) {
	const body = ": a comment\n" +
		"event: message\n" +
		"data: {\"x\":1}\r\n" +
		"\n" +
		"  data:{\"y\":2}\n" +
		"id: 7\n" +
		"data: {\"error\":{\"message\":\"m\"}}\n" +
		"data:  [DONE]  \n" +
		"data: [DONE] x\n" +
		"datum: no\n" +
		"data: [DONE]" // last line without its newline
	type want struct {
		done, err bool
		payload   string
	}
	wants := []want{
		{}, {},
		{err: true, payload: `{"error":{"message":"m"}}`},
		{done: true}, {}, {done: true},
	}
	for name, r := range map[string]io.Reader{
		"whole":       strings.NewReader(body),
		"byte a read": iotest.OneByteReader(strings.NewReader(body)),
		"half a read": iotest.HalfReader(strings.NewReader(body)),
	} {
		c := &eventClock{rc: io.NopCloser(r)}
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatal(err)
		}
		evs := c.snapshot()
		if len(evs) != len(wants) {
			t.Fatalf("%s: %d events, want %d: %+v", name, len(evs), len(wants), evs)
		}
		for i, w := range wants {
			if evs[i].Done != w.done || evs[i].Error != w.err || evs[i].Payload != w.payload || evs[i].At.IsZero() {
				t.Errorf("%s: event %d = %+v, want done=%v error=%v payload=%q", name, i, evs[i], w.done, w.err, w.payload)
			}
		}
	}
}

// A line longer than what the clock keeps is still one event, and never
// [DONE].
func TestEventClockLongLine(t *testing.T) {
	long := "data: " + strings.Repeat("x", 3*MaxEventPayload) + "\n" + "data: [DONE]\n"
	c := &eventClock{rc: io.NopCloser(iotest.HalfReader(strings.NewReader(long)))}
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatal(err)
	}
	evs := c.snapshot()
	if len(evs) != 2 || evs[0].Done || !evs[1].Done {
		t.Errorf("events %+v, want a data line and [DONE]", evs)
	}
	if len(c.head) != 0 || c.long {
		t.Errorf("line state not reset: head %q long %v", c.head, c.long)
	}
}

// An event is timed when its last byte arrives, not its first: the server
// sends half a line, waits for the test, then the rest.
func TestEventClockTimesLineEnd(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		io.WriteString(w, `data: {"a":`)
		rc.Flush()
		<-release
		io.WriteString(w, "1}\n\ndata: [DONE]\n\n")
		rc.Flush()
	}))
	defer ts.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	client := &http.Client{Transport: CaptureTransport{Base: &http.Transport{}}}
	c := &Capture{TimeEvents: true}
	req, err := http.NewRequestWithContext(WithCapture(t.Context(), c), http.MethodGet, ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.Peek(1); err != nil { // the first half has arrived
		t.Fatal(err)
	}
	if evs := c.Events(); len(evs) != 0 {
		t.Fatalf("events %+v before the line was complete", evs)
	}
	released := time.Now()
	close(release)
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatal(err)
	}
	evs := c.Events()
	if len(evs) != 2 || evs[0].Done || !evs[1].Done {
		t.Fatalf("events %+v, want a data line and [DONE]", evs)
	}
	if evs[0].At.Before(released) {
		t.Errorf("the line was timed %v before its second half was sent", released.Sub(evs[0].At))
	}
	if ev, ok := c.Event(1); !ok || !ev.Done {
		t.Errorf("Event(1) = %+v, %v", ev, ok)
	}
	if _, ok := c.Event(2); ok {
		t.Error("Event(2) exists")
	}
}

// Without TimeEvents the body is not wrapped and no events are kept.
func TestCaptureWithoutTimeEvents(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: {}\n\ndata: [DONE]\n\n")
	}))
	defer ts.Close()
	client := &http.Client{Transport: CaptureTransport{Base: &http.Transport{}}}
	c := &Capture{}
	req, _ := http.NewRequestWithContext(WithCapture(t.Context(), c), http.MethodGet, ts.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if _, wrapped := resp.Body.(*eventClock); wrapped || c.Events() != nil {
		t.Errorf("body wrapped (%v) or events kept (%v) without TimeEvents", wrapped, c.Events())
	}
	if _, ok := c.Event(0); ok || c.DrainBody(10) {
		t.Error("Event or DrainBody report a body that was not timed")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   float64 // NaN: nil
	}{
		{"none", nil, math.NaN()},
		{"seconds", map[string]string{"Retry-After": "7"}, 7},
		{"decimal seconds", map[string]string{"Retry-After": " 1.5 "}, 1.5},
		{"zero", map[string]string{"Retry-After": "0"}, 0},
		{"HTTP date", map[string]string{"Retry-After": now.Add(42 * time.Second).Format(http.TimeFormat)}, 42},
		{"past HTTP date", map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0},
		{"milliseconds preferred", map[string]string{"Retry-After": "2", "Retry-After-Ms": "1250"}, 1.25},
		{"bad milliseconds", map[string]string{"Retry-After": "2", "Retry-After-Ms": "soon"}, 2},
		{"negative", map[string]string{"Retry-After": "-3"}, math.NaN()},
		{"infinite", map[string]string{"Retry-After": "Inf"}, math.NaN()},
		{"garbage", map[string]string{"Retry-After": "tomorrow"}, math.NaN()},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		got := RetryAfterSeconds(h, now)
		switch {
		case math.IsNaN(tc.want) && got != nil:
			t.Errorf("%s: got %v, want nil", tc.name, *got)
		case !math.IsNaN(tc.want) && (got == nil || math.Abs(*got-tc.want) > 1e-9):
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRateLimitFrom(t *testing.T) {
	if rl := RateLimitFrom(http.Header{"Content-Type": {"application/json"}}); rl != nil {
		t.Errorf("no x-ratelimit headers: got %+v, want nil", rl)
	}
	h := http.Header{}
	h.Set("x-ratelimit-limit-requests", "500")
	h.Set("X-RateLimit-Remaining-Requests", " 499 ")
	h.Set("x-ratelimit-reset-requests", "120ms")
	h.Set("x-ratelimit-limit-tokens", "30000.0")
	h.Set("x-ratelimit-remaining-tokens", "lots")
	h.Set("x-ratelimit-reset-tokens", "6m0s")
	rl := RateLimitFrom(h)
	if rl == nil {
		t.Fatal("got nil")
	}
	val := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	if val(rl.LimitRequests) != 500 || val(rl.RemainingRequests) != 499 || rl.ResetRequests != "120ms" ||
		val(rl.LimitTokens) != 30000 || rl.RemainingTokens != nil || rl.ResetTokens != "6m0s" {
		t.Errorf("got %+v (limit_requests %d remaining_requests %d limit_tokens %d)", *rl, val(rl.LimitRequests), val(rl.RemainingRequests), val(rl.LimitTokens))
	}
	only := http.Header{}
	only.Set("x-ratelimit-reset-tokens", "1s")
	if rl := RateLimitFrom(only); rl == nil || rl.ResetTokens != "1s" || rl.LimitRequests != nil {
		t.Errorf("one header: got %+v", rl)
	}
}
