package simulator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// streamBody is a streamed chat completion request for prompt, 6 tokens.
func streamBody(prompt string) string {
	b, _ := json.Marshal(map[string]any{
		"model":    "sim-model",
		"stream":   true,
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	return string(b)
}

// plainBody is a non-streamed chat completion request for prompt.
func plainBody(prompt string) string {
	b, _ := json.Marshal(map[string]any{
		"model":    "sim-model",
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	return string(b)
}

// post sends body to the chat completions endpoint under ctx and returns
// the response, whose body the caller reads.
func post(t *testing.T, ctx context.Context, c *http.Client, baseURL, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

// sseLines reads "data:" payloads from r until it ends, and returns them with
// the error that ended the reading (nil at a clean end).
func sseLines(r io.Reader) ([]string, error) {
	var out []string
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "data:"); ok {
			out = append(out, strings.TrimSpace(p))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
	}
}

// contentChunks counts the payloads that carry content.
func contentChunks(payloads []string) int {
	n := 0
	for _, p := range payloads {
		var c chatChunk
		if json.Unmarshal([]byte(p), &c) == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil && *c.Choices[0].Delta.Content != "" {
			n++
		}
	}
	return n
}

// A truncated stream sends half of its content chunks, then closes the
// connection: no finish_reason, no [DONE], and the body breaks off.
func TestFaultTruncateStream(t *testing.T) {
	t.Parallel()
	sim, baseURL := startTest(t, Config{OutputTokens: 6, Faults: Faults{Truncate: 1}})
	resp, err := post(t, context.Background(), httpClient(t), baseURL, streamBody("cut me"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	payloads, err := sseLines(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("the stream ended with %v, want the connection closed mid-body (unexpected EOF)", err)
	}
	if got := contentChunks(payloads); got != 3 {
		t.Errorf("%d content chunks before the cut, want 3 of 6", got)
	}
	for _, p := range payloads {
		if p == "[DONE]" || strings.Contains(p, `"finish_reason":"`) {
			t.Errorf("a truncated stream sent %s", p)
		}
	}
	if st := sim.Stats(); st.StatusCounts[200] != 1 {
		t.Errorf("Stats = %+v, want the answer counted as 200", st)
	}
}

// A truncated non-streamed answer sends half of the body its Content-Length
// promised, then closes the connection.
func TestFaultTruncatePlain(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{Faults: Faults{Truncate: 1}})
	resp, err := post(t, context.Background(), httpClient(t), baseURL, plainBody("cut me"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("status %d, body error %v; want 200 and unexpected EOF", resp.StatusCode, err)
	}
	if resp.ContentLength <= 0 || int64(len(b)) != resp.ContentLength/2 || json.Valid(b) {
		t.Errorf("got %d bytes of %d, valid JSON %v; want the first half", len(b), resp.ContentLength, json.Valid(b))
	}
}

// A stalled stream sends half of its content chunks and then nothing until
// the client gives up; Close releases one that waits on.
func TestFaultStallStream(t *testing.T) {
	t.Parallel()
	stall, stallCh := signalHook(2)
	sim, baseURL := startTest(t, Config{OutputTokens: 4, Faults: Faults{StallStream: 1}}, func(s *Server) { s.onStall = stall })
	c := httpClient(t)

	ctx, cancel := context.WithCancel(context.Background())
	resp, err := post(t, ctx, c, baseURL, streamBody("stall me"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	// The chunks before the stall arrive; then nothing does, until the
	// client gives up.
	br := bufio.NewReader(resp.Body)
	var payloads []string
	for contentChunks(payloads) < 2 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream broke off after %q: %v", payloads, err)
		}
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "data:"); ok {
			payloads = append(payloads, strings.TrimSpace(p))
		}
	}
	waitFor(t, stallCh, "the stream to stall")
	cancel()
	rest, err := sseLines(br)
	resp.Body.Close()
	if err == nil || contentChunks(rest) != 0 || slices.Contains(rest, "[DONE]") {
		t.Errorf("after the stall: %q, %v; want nothing more and an error", rest, err)
	}

	// A patient client is released by Close, the stream cut off.
	resp, err = post(t, context.Background(), c, baseURL, streamBody("stall me again"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	waitFor(t, stallCh, "the second stream to stall")
	done := make(chan error, 1)
	go func() {
		_, err := sseLines(resp.Body)
		done <- err
	}()
	closeAndWait(t, sim)
	select {
	case err := <-done:
		if err == nil {
			t.Error("a stream released by Close ended cleanly")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the stalled stream")
	}
}

// A stalled non-streamed answer sends its headers and half of its body,
// then holds the rest: the client's deadline ends it while reading.
func TestFaultStallStreamPlain(t *testing.T) {
	t.Parallel()
	stall, stallCh := signalHook(1)
	_, baseURL := startTest(t, Config{Faults: Faults{StallStream: 1}}, func(s *Server) { s.onStall = stall })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := post(t, ctx, httpClient(t), baseURL, plainBody("hold the body"))
	if err != nil {
		t.Fatalf("the headers did not come: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	waitFor(t, stallCh, "the body to stall")
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Errorf("reading the body ended with %v, want the client's cancellation", err)
	}
}

// A malformed non-streamed answer is a 200 whose body is not JSON.
func TestFaultMalformedPlain(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{Faults: Faults{Malformed: 1}})
	r := do(t, httpClient(t), http.MethodPost, baseURL+"/chat/completions", "", chatBody)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q; want 200 application/json", r.status, r.header.Get("Content-Type"))
	}
	if json.Valid(r.body) {
		t.Errorf("the body is valid JSON: %s", r.body)
	}
}

// A malformed stream has a data line that is not JSON after its first
// content chunk, and otherwise ends as usual.
func TestFaultMalformedStream(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{OutputTokens: 3, Faults: Faults{Malformed: 1}})
	resp, err := post(t, context.Background(), httpClient(t), baseURL, streamBody("garble"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	payloads, err := sseLines(resp.Body)
	if err != nil {
		t.Fatalf("the stream ended with %v", err)
	}
	bad := -1
	for i, p := range payloads {
		if p != "[DONE]" && !json.Valid([]byte(p)) {
			if bad >= 0 {
				t.Errorf("more than one invalid line: %q", p)
			}
			bad = i
		}
	}
	// role chunk, first content chunk, then the bad line.
	if bad != 2 {
		t.Errorf("invalid line at %d, want 2; payloads %q", bad, payloads)
	}
	if payloads[len(payloads)-1] != "[DONE]" || contentChunks(payloads) != 3 {
		t.Errorf("want the rest of the stream and [DONE]: %q", payloads)
	}
}

// Slow headers hold the whole answer, headers included, then answer as
// usual; a client that does not wait long enough gets no response at all.
func TestFaultSlowHeaders(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{Faults: Faults{SlowHeaders: 1, SlowHeadersFor: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	resp, err := post(t, ctx, httpClient(t), baseURL, streamBody("slow"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("headers arrived (status %d) though they were held for an hour", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the client's deadline", err)
	}

	const delay = 100 * time.Millisecond
	_, baseURL = startTest(t, Config{OutputTokens: 3, Faults: Faults{SlowHeaders: 1, SlowHeadersFor: delay}})
	start := time.Now()
	resp, err = post(t, context.Background(), httpClient(t), baseURL, streamBody("slow"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if took := time.Since(start); took < delay {
		t.Errorf("headers after %s, want at least %s", took, delay)
	}
	payloads, err := sseLines(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || payloads[len(payloads)-1] != "[DONE]" || contentChunks(payloads) != 3 {
		t.Errorf("status %d, err %v, payloads %q; want a complete stream", resp.StatusCode, err, payloads)
	}
}

// A 429 fault says when to come back.
func TestFaultError429(t *testing.T) {
	t.Parallel()
	sim, baseURL := startTest(t, Config{Faults: Faults{Error429: 1}, Latency: time.Hour})
	r := do(t, httpClient(t), http.MethodPost, baseURL+"/chat/completions", "", chatBody)
	decodeError(t, r, http.StatusTooManyRequests, "requests", "rate_limit_exceeded")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if st := sim.Stats(); st.StatusCounts[429] != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

// A "[fault:NAME]" marker in the last message gives that fault, whatever the
// fractions; other requests are untouched, and an unknown name is ignored.
func TestFaultMarkers(t *testing.T) {
	t.Parallel()
	sim, baseURL := startTest(t, Config{OutputTokens: 2, Faults: Faults{Error503: 0}})
	c := httpClient(t)
	r := do(t, c, http.MethodPost, baseURL+"/chat/completions", "", plainBody("please [fault:error500] now"))
	decodeError(t, r, http.StatusInternalServerError, "server_error", "server_error")
	for _, prompt := range []string{"no marker", "[fault:nonsense] hello", "[fault:error500 unclosed"} {
		r := do(t, c, http.MethodPost, baseURL+"/chat/completions", "", plainBody(prompt))
		if r.status != http.StatusOK {
			t.Errorf("%q: status %d, want 200", prompt, r.status)
		}
	}
	if _, err := try(c, http.MethodPost, baseURL+"/chat/completions", "", plainBody("[fault:drop]")); err == nil {
		t.Error("[fault:drop] got a response")
	}
	if st := sim.Stats(); st.StatusCounts[500] != 1 || st.StatusCounts[200] != 3 || st.StatusCounts[0] != 1 {
		t.Errorf("Stats = %+v", st)
	}

	names := FaultNames()
	if len(names) != 9 || names[0] != "error500" || names[len(names)-1] != "error429" {
		t.Errorf("FaultNames() = %q", names)
	}
	for _, n := range names {
		f, ok := markedFault([]promptMessage{{role: "user", text: "x [fault:" + n + "] y"}})
		if !ok || f.String() != n {
			t.Errorf("marker %q gives %v, %v", n, f, ok)
		}
	}
}

// New faults take the intervals after the old ones, so that a seed keeps
// giving the same requests the old faults.
func TestFaultIntervals(t *testing.T) {
	f := Faults{Error500: 0.1, Stall: 0.1, Truncate: 0.1, StallStream: 0.1, Malformed: 0.1, SlowHeaders: 0.1, Error429: 0.1}
	for _, tc := range []struct {
		u    float64
		want fault
	}{
		{0.05, fault500}, {0.15, faultStall}, {0.25, faultTruncate}, {0.35, faultStallStream},
		{0.45, faultMalformed}, {0.55, faultSlowHeaders}, {0.65, fault429}, {0.75, faultNone},
	} {
		if got := f.pick(tc.u); got != tc.want {
			t.Errorf("pick(%v) = %v, want %v", tc.u, got, tc.want)
		}
	}
}

// The new fractions and durations are checked like the old ones.
func TestFaultConfig(t *testing.T) {
	for _, c := range []Config{
		{Faults: Faults{Truncate: 1.5}},
		{Faults: Faults{Malformed: -0.1}},
		{Faults: Faults{StallStream: 0.6, SlowHeaders: 0.6}},
		{Faults: Faults{Error429: 0.5, Error500: 0.6}},
		{Faults: Faults{SlowHeadersFor: -time.Second}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c.Faults)
		}
	}
	if err := (Config{Faults: Faults{Truncate: 0.2, StallStream: 0.2, Malformed: 0.2, SlowHeaders: 0.2, Error429: 0.2}}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	cfg := New(Config{Faults: Faults{Truncate: 3, Malformed: -1}}).Config()
	if cfg.Faults.SlowHeadersFor != DefaultSlowHeadersFor || cfg.Faults.Truncate != 1 || cfg.Faults.Malformed != 0 {
		t.Errorf("defaults and clamps not applied: %+v", cfg.Faults)
	}
	if !slices.Contains(FaultNames(), "stall-stream") {
		t.Error("stall-stream is not a fault name")
	}
}
