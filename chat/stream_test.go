package chat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

func streamBatch(n int) chat.Batch {
	in := batch(n)
	in.Stream = true
	in.MaxTokens = 64
	return in
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// serverClock wraps the simulator and notes, for every streamed response,
// when each chunk was handed to the connection (just before its flush): the
// ground truth for the client's timing. Streams are keyed by prompt.
type serverClock struct {
	mu      sync.Mutex
	streams map[string]*flushClock
}

func (c *serverClock) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		fc := &flushClock{ResponseWriter: w}
		if json.Unmarshal(body, &req) == nil && len(req.Messages) > 0 {
			c.mu.Lock()
			c.streams[req.Messages[0].Content] = fc
			c.mu.Unlock()
		}
		next.ServeHTTP(fc, r)
	})
}

func (c *serverClock) stream(prompt string) *flushClock {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[prompt]
}

type flushClock struct {
	http.ResponseWriter
	mu       sync.Mutex
	pending  []byte
	contents []time.Time // chunks with content
	done     time.Time   // data: [DONE]
}

func (f *flushClock) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.pending = append(f.pending, p...)
	f.mu.Unlock()
	return f.ResponseWriter.Write(p)
}

func (f *flushClock) Flush() {
	now := time.Now()
	f.mu.Lock()
	for _, line := range strings.Split(string(f.pending), "\n") {
		payload, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if payload == "[DONE]" {
			f.done = now
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(payload), &c) == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
			f.contents = append(f.contents, now)
		}
	}
	f.pending = f.pending[:0]
	f.mu.Unlock()
	f.ResponseWriter.(http.Flusher).Flush()
}

func (f *flushClock) times() ([]time.Time, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.contents), f.done
}

// TestStreamTiming: against the simulator's TTFT and per-token delay, the
// streamed records measure both to within 5%, take their tokens from the
// usage chunk, and time every content chunk as it arrives.
//
// The reference is what the simulator actually did, noted server-side in
// this process (same clock): its timers, and the wake-ups around them, run
// late by a few percent on a loaded machine (and more under -race), so the
// configured 300ms/20ms are a floor, not the truth. The measurement error,
// measured minus actual, must stay within 5% of the configured values.
func TestStreamTiming(t *testing.T) {
	const (
		ttft     = 300 * time.Millisecond
		perToken = 20 * time.Millisecond
		tokens   = 50
		n        = 4
	)
	sim := simulator.New(simulator.Config{APIKey: testKey, TTFT: ttft, PerToken: perToken, OutputTokens: tokens})
	clock := &serverClock{streams: map[string]*flushClock{}}
	ts := httptest.NewServer(clock.handler(sim))
	t.Cleanup(func() {
		_ = sim.Close()
		ts.Close()
	})
	in := streamBatch(n)
	in.Pass = record.PassConcurrent
	in.Concurrency = n
	in.FireAt = time.Now().Add(200 * time.Millisecond)

	out := send(t, newSender(testKey, ts.URL+"/v1"), in)

	if len(out.Records) != n {
		t.Fatalf("got %d records, want %d", len(out.Records), n)
	}
	if got := sim.Stats().MaxInFlight; got != n {
		t.Errorf("simulator MaxInFlight = %d, want %d: the streams did not overlap", got, n)
	}
	var ttfts, tpots, actualTTFTs, actualTPOTs, gaps, lags []float64
	for _, r := range out.Records {
		if !r.OK || r.HTTPStatus != http.StatusOK || r.Error != "" {
			t.Fatalf("request %d: ok=%v status=%d error=%q", r.Index, r.OK, r.HTTPStatus, r.Error)
		}
		if !r.Stream {
			t.Errorf("request %d: stream=false", r.Index)
		}
		if r.TokensEstimated {
			t.Errorf("request %d: tokens_estimated with a usage chunk", r.Index)
		}
		// 6 prompt words + 3 for the message + 3 for priming the reply.
		if r.CompletionTokens != tokens || r.PromptTokens != 12 {
			t.Errorf("request %d: tokens prompt=%d completion=%d, want 12 and %d", r.Index, r.PromptTokens, r.CompletionTokens, tokens)
		}
		if w := len(strings.Fields(r.Response)); w != tokens {
			t.Errorf("request %d: response has %d words, want %d: %q", r.Index, w, tokens, r.Response)
		}
		if len(r.ChunkGapsSeconds) != tokens-1 {
			t.Fatalf("request %d: %d chunk gaps, want %d", r.Index, len(r.ChunkGapsSeconds), tokens-1)
		}
		if r.TTFTSeconds == nil || r.TPOTSeconds == nil {
			t.Fatalf("request %d: ttft=%v tpot=%v, want both", r.Index, r.TTFTSeconds, r.TPOTSeconds)
		}
		ttfts = append(ttfts, *r.TTFTSeconds)
		tpots = append(tpots, *r.TPOTSeconds)
		gaps = append(gaps, r.ChunkGapsSeconds...)

		// TPOT is vLLM's: (latency - TTFT) / (tokens - 1).
		if want := (r.LatencySeconds - *r.TTFTSeconds) / (tokens - 1); math.Abs(*r.TPOTSeconds-want) > 1e-9 {
			t.Errorf("request %d: tpot %.6f, want (latency-ttft)/(tokens-1) = %.6f", r.Index, *r.TPOTSeconds, want)
		}
		if want := tokens / r.LatencySeconds; math.Abs(r.OutputTokensPerSecond-want) > 1e-9*want {
			t.Errorf("request %d: output_tokens_per_second %.4f, want %.4f", r.Index, r.OutputTokensPerSecond, want)
		}
		sent := parseTime(t, "sent_at", r.SentAt)
		received := parseTime(t, "received_at", r.ReceivedAt)
		if d := math.Abs(received.Sub(sent).Seconds() - r.LatencySeconds); d > 0.005 {
			t.Errorf("request %d: received_at - sent_at differs from latency_seconds by %.4f", r.Index, d)
		}
		if r.RateLimit != nil || r.RetryAfterSeconds != nil {
			t.Errorf("request %d: rate_limit %+v retry_after %v without rate-limit headers", r.Index, r.RateLimit, r.RetryAfterSeconds)
		}

		// Against the server's clock: every content chunk arrives after
		// the server flushed it (a chunk timed too early, or paired with
		// the wrong chunk, would not), and the last byte after [DONE].
		fc := clock.stream(r.Prompt)
		if fc == nil {
			t.Fatalf("request %d: the server did not see prompt %q", r.Index, r.Prompt)
		}
		flushed, done := fc.times()
		if len(flushed) != tokens || done.IsZero() {
			t.Fatalf("request %d: the server flushed %d content chunks and [DONE] at %v", r.Index, len(flushed), done)
		}
		arrival := sent.Add(time.Duration(*r.TTFTSeconds * 1e9))
		for j := range tokens {
			if j > 0 {
				arrival = arrival.Add(time.Duration(r.ChunkGapsSeconds[j-1] * 1e9))
			}
			lag := arrival.Sub(flushed[j])
			if lag < -time.Millisecond/10 { // wall-clock rounding only
				t.Errorf("request %d: content chunk %d timed %v before the server sent it", r.Index, j, -lag)
			}
			lags = append(lags, lag.Seconds())
		}
		if last := sent.Add(time.Duration(r.LatencySeconds * 1e9)); last.Before(done.Add(-time.Millisecond / 10)) {
			t.Errorf("request %d: last byte timed %v before the server sent [DONE]", r.Index, done.Sub(last))
		}
		actualTTFTs = append(actualTTFTs, flushed[0].Sub(sent).Seconds())
		actualTPOTs = append(actualTPOTs, done.Sub(flushed[0]).Seconds()/(tokens-1))
	}
	mTTFT, mTPOT := mean(ttfts), mean(tpots)
	aTTFT, aTPOT := mean(actualTTFTs), mean(actualTPOTs)
	t.Logf("mean TTFT %.2f ms (simulator: configured %v, actual %.2f ms); mean TPOT %.3f ms (configured %v, actual %.3f ms); median chunk gap %.3f ms; mean chunk delivery lag %.3f ms",
		mTTFT*1e3, ttft, aTTFT*1e3, mTPOT*1e3, perToken, aTPOT*1e3, median(gaps)*1e3, mean(lags)*1e3)
	if d := mTTFT - aTTFT; math.Abs(d) > 0.05*ttft.Seconds() {
		t.Errorf("mean TTFT %.4f s is off the simulator's actual %.4f s by more than 5%% of %v", mTTFT, aTTFT, ttft)
	}
	if d := mTPOT - aTPOT; math.Abs(d) > 0.05*perToken.Seconds() {
		t.Errorf("mean TPOT %.5f s is off the simulator's actual %.5f s by more than 5%% of %v", mTPOT, aTPOT, perToken)
	}
	// The simulator never answers early, and runs late by some percent: a
	// measurement that is off scale fails here.
	if mTTFT < ttft.Seconds() || mTTFT > 1.5*ttft.Seconds() {
		t.Errorf("mean TTFT %.4f s outside [1, 1.5] × %v", mTTFT, ttft)
	}
	if mTPOT < 0.95*perToken.Seconds() || mTPOT > 1.5*perToken.Seconds() {
		t.Errorf("mean TPOT %.5f s outside [0.95, 1.5] × %v", mTPOT, perToken)
	}
	// Chunks timed as they arrive, not as they are parsed, are spaced by
	// the per-token delay; a clock that bunched them would show gaps near 0.
	if m := median(gaps); m < 0.9*perToken.Seconds() || m > 1.25*perToken.Seconds() {
		t.Errorf("median chunk gap %.5f s outside [0.9, 1.25] × %v", m, perToken)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// sseServer serves handler, which writes raw SSE text through emit (each
// call flushed), and records the last request body.
func sseServer(t *testing.T, handler func(emit func(string))) (url string, lastBody *atomic.Value) {
	t.Helper()
	lastBody = &atomic.Value{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		lastBody.Store(b)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		handler(func(s string) {
			_, _ = io.WriteString(w, s)
			_ = rc.Flush()
		})
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/v1", lastBody
}

// chunk is an OpenAI chat.completion.chunk event with one choice.
func chunk(content, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	c, _ := json.Marshal(content)
	return fmt.Sprintf(`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"served-model","choices":[{"index":0,"delta":{"content":%s},"finish_reason":%s}]}`+"\n\n", c, f)
}

// A server that sends no usage chunk: the completion tokens are the content
// chunks, flagged as estimated. SSE comments, event names, blank lines and
// CRLF line ends do not shift the chunks' times.
func TestStreamWithoutUsageEstimatesTokens(t *testing.T) {
	var contentAt atomic.Value
	url, lastBody := sseServer(t, func(emit func(string)) {
		emit(": keep-alive comment\n\n")
		emit(`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"served-model","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
		// A pause between the role chunk and the first token, as a model's
		// prefill makes: the TTFT is the first token's, not the role's.
		time.Sleep(30 * time.Millisecond)
		contentAt.Store(time.Now())
		emit(chunk("Hello", ""))
		emit("event: message\r\n" + strings.TrimSuffix(chunk(" there", ""), "\n\n") + "\r\n\r\n")
		emit("  " + chunk(" friend", ""))
		emit(chunk("", "stop"))
		emit("data: [DONE]\n\n")
	})
	rec := onlyRecord(t, send(t, newSender(testKey, url), streamBatch(1)))
	if !rec.OK || rec.Error != "" || rec.HTTPStatus != http.StatusOK {
		t.Fatalf("want ok with HTTP 200, got ok=%v status=%d error=%q", rec.OK, rec.HTTPStatus, rec.Error)
	}
	if !rec.TokensEstimated || rec.CompletionTokens != 3 || rec.PromptTokens != 0 {
		t.Errorf("want 3 estimated completion tokens and no prompt tokens, got estimated=%v completion=%d prompt=%d", rec.TokensEstimated, rec.CompletionTokens, rec.PromptTokens)
	}
	if rec.Response != "Hello there friend" {
		t.Errorf("response %q, want %q", rec.Response, "Hello there friend")
	}
	if rec.Model != "served-model" {
		t.Errorf("model %q, want the served model", rec.Model)
	}
	if !rec.Stream || rec.TTFTSeconds == nil || rec.TPOTSeconds == nil || len(rec.ChunkGapsSeconds) != 2 {
		t.Errorf("want stream, ttft, tpot and 2 gaps, got stream=%v ttft=%v tpot=%v gaps=%v", rec.Stream, rec.TTFTSeconds, rec.TPOTSeconds, rec.ChunkGapsSeconds)
	}
	if rec.TTFTSeconds != nil {
		sent := parseTime(t, "sent_at", rec.SentAt)
		if first := contentAt.Load().(time.Time).Sub(sent).Seconds(); *rec.TTFTSeconds < first-1e-4 || *rec.TTFTSeconds > rec.LatencySeconds {
			t.Errorf("ttft %.6f outside [first token sent %.6f, latency %.6f]", *rec.TTFTSeconds, first, rec.LatencySeconds)
		}
	}
	if want := 3 / rec.LatencySeconds; math.Abs(rec.OutputTokensPerSecond-want) > 1e-9*want {
		t.Errorf("output_tokens_per_second %.3f, want %.3f", rec.OutputTokensPerSecond, want)
	}
	// The request asked for a stream with a usage chunk.
	var body struct {
		Stream        bool `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		MaxTokens int `json:"max_tokens"`
	}
	if err := json.Unmarshal(lastBody.Load().([]byte), &body); err != nil {
		t.Fatal(err)
	}
	if !body.Stream || !body.StreamOptions.IncludeUsage || body.MaxTokens != 64 {
		t.Errorf("request body: stream=%v include_usage=%v max_tokens=%d", body.Stream, body.StreamOptions.IncludeUsage, body.MaxTokens)
	}
}

// A stream that fails after it started is a failed record with a clear
// error, and none of the success metrics.
func TestStreamFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler func(emit func(string))
		want    []string
		kind    string
	}{
		{
			name: "error event",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit(chunk(" there", ""))
				emit(`data: {"error":{"message":"model overloaded mid-stream","type":"server_error","code":"overloaded"}}` + "\n\n")
			},
			want: []string{"error event in the stream after 2 content chunks", "model overloaded mid-stream"},
			kind: record.ErrorKindOther,
		},
		{
			name: "error event with a string (TGI)",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit(`data: {"error":"Request failed during generation: out of memory","error_type":"generation"}` + "\n\n")
				emit("data: [DONE]\n\n")
			},
			want: []string{"error event in the stream after 1 content chunks", "out of memory"},
			kind: record.ErrorKindOther,
		},
		{
			name: "error object without the error key",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit(`data: {"object":"error","message":"engine died","type":"InternalServerError","code":500}` + "\n\n")
				emit("data: [DONE]\n\n")
			},
			want: []string{"error event in the stream", "engine died"},
			kind: record.ErrorKindOther,
		},
		{
			name: "error event as the last line, without newline",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit(`data: {"error":{"message":"cut short"}}`)
			},
			want: []string{"error event in the stream", "cut short"},
			kind: record.ErrorKindOther,
		},
		{
			name: "ends before [DONE]",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit(chunk(" there", ""))
			},
			want: []string{"stream ended before the response was complete", "no finish_reason and no data: [DONE]", "after 2 content chunks"},
			kind: record.ErrorKindStreamTruncated,
		},
		{
			name: "finish_reason but no [DONE]",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit(chunk("", "stop"))
			},
			want: []string{"stream ended before the response was complete", "no data: [DONE]"},
			kind: record.ErrorKindStreamTruncated,
		},
		{
			name: "[DONE] without finish_reason",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit("data: [DONE]\n\n")
			},
			want: []string{"stream ended before the response was complete", "[DONE] without a finish_reason"},
			kind: record.ErrorKindStreamTruncated,
		},
		{
			name: "connection cut mid-stream",
			handler: func(emit func(string)) {
				emit(chunk("Hello", ""))
				emit(`data: {"id":"c1","object":"chat.comp`)
				panic(http.ErrAbortHandler) // closes the connection mid-chunk
			},
			want: []string{"stream ended before the response was complete", "unexpected EOF", "after 1 content chunks"},
			kind: record.ErrorKindStreamTruncated,
		},
		{
			name: "no stream at all",
			handler: func(emit func(string)) {
				emit(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}` + "\n")
			},
			want: []string{"stream ended before the response was complete", "no events"},
			kind: record.ErrorKindStreamTruncated,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := sseServer(t, tc.handler)
			rec := onlyRecord(t, send(t, newSender(testKey, url), streamBatch(1)))
			if rec.OK {
				t.Fatalf("a broken stream counted as a success: %+v", rec)
			}
			if rec.ErrorKind != tc.kind {
				t.Errorf("error_kind %q, want %q", rec.ErrorKind, tc.kind)
			}
			if rec.HTTPStatus != http.StatusOK || !rec.Stream {
				t.Errorf("want http_status 200 and stream=true, got %d and %v", rec.HTTPStatus, rec.Stream)
			}
			for _, w := range tc.want {
				if !strings.Contains(rec.Error, w) {
					t.Errorf("error %q does not contain %q", rec.Error, w)
				}
			}
			if strings.ContainsAny(rec.Error, "\r\n") {
				t.Errorf("error %q is not one line", rec.Error)
			}
			if rec.TTFTSeconds != nil || rec.TPOTSeconds != nil || rec.ChunkGapsSeconds != nil || rec.OutputTokensPerSecond != 0 || rec.CompletionTokens != 0 || rec.Response != "" {
				t.Errorf("a failed stream carries success metrics: %+v", rec)
			}
			if rec.LatencySeconds <= 0 {
				t.Errorf("latency_seconds %v, want > 0", rec.LatencySeconds)
			}
		})
	}
}

// A 200 answer with a JSON body instead of a stream says so.
func TestStreamNotAStream(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
	}))
	defer ts.Close()
	rec := onlyRecord(t, send(t, newSender(testKey, ts.URL+"/v1"), streamBatch(1)))
	if rec.OK || !strings.Contains(rec.Error, "application/json, not text/event-stream") || rec.ErrorKind != record.ErrorKindMalformedResponse {
		t.Errorf("want a malformed_response naming the content type, got ok=%v kind=%q error=%q", rec.OK, rec.ErrorKind, rec.Error)
	}
}

// A stream that stops sending ends at the stall bound, half the request
// timeout, as stream_stalled.
func TestStreamStallEndsBeforeTheTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, base := startSim(t, simulator.Config{APIKey: testKey, TTFT: time.Millisecond, PerToken: time.Hour, OutputTokens: 5})
	in := streamBatch(1)
	in.Timeout = timeout
	rec := onlyRecord(t, send(t, newSender(testKey, base), in))
	if rec.OK || rec.HTTPStatus != http.StatusOK || rec.ErrorKind != record.ErrorKindStreamStalled {
		t.Fatalf("want a stalled stream with HTTP 200, got ok=%v status=%d kind=%q", rec.OK, rec.HTTPStatus, rec.ErrorKind)
	}
	if !strings.Contains(rec.Error, "the stream stalled: nothing for 150ms") || !strings.Contains(rec.Error, "1 content chunks had arrived") {
		t.Errorf("error %q does not say the stream stalled after its first chunk", rec.Error)
	}
	if bound := measure.StallBound(timeout, true); rec.LatencySeconds < (bound-20*time.Millisecond).Seconds() || bound != timeout/2 {
		t.Errorf("latency_seconds %.3f is well below the stall bound %s", rec.LatencySeconds, bound)
	}
}

// HTTP errors of a streamed request are recorded as for a non-streamed one,
// and a fatal one stops the batch.
func TestStreamHTTPErrorStopsOnFatal(t *testing.T) {
	sim, base := startSim(t, simulator.Config{APIKey: testKey})
	in := streamBatch(4)
	in.StopOnFatal = true
	rec := onlyRecord(t, send(t, newSender("sk-wrong-key-9876543210", base), in))
	if rec.OK || rec.HTTPStatus != http.StatusUnauthorized || !rec.Stream {
		t.Errorf("want a failed streamed 401 record, got ok=%v status=%d stream=%v", rec.OK, rec.HTTPStatus, rec.Stream)
	}
	if !strings.Contains(rec.Error, "401") || strings.Contains(rec.Error, "sk-wrong-key-9876543210") {
		t.Errorf("error %q: want the status, not the key", rec.Error)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Errorf("simulator saw %d requests, want 1", got)
	}
}

// A sequence of streamed requests uses one connection: after [DONE] the end
// of the body is read (here it comes a little later), so that the transport
// can reuse the connection rather than close it.
func TestStreamReusesConnection(t *testing.T) {
	const tidy = 100 * time.Millisecond
	var bodyEnds sync.Map // time the body ended, by request
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		io.WriteString(w, chunk("Hello", "")+chunk("", "stop")+"data: [DONE]\n\n")
		done := time.Now()
		rc.Flush()
		// The end of the chunked body follows once the handler returns:
		// a server still tidying up after [DONE].
		time.Sleep(tidy)
		bodyEnds.Store(done, done.Add(tidy))
	}))
	var accepted atomic.Int32
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	out := send(t, newSender(testKey, ts.URL+"/v1"), streamBatch(3))
	if len(out.Records) != 3 {
		t.Fatalf("got %d records, want 3", len(out.Records))
	}
	var ends []time.Time
	bodyEnds.Range(func(_, v any) bool {
		ends = append(ends, v.(time.Time))
		return true
	})
	slices.SortFunc(ends, time.Time.Compare)
	if len(ends) != 3 {
		t.Fatalf("server served %d requests, want 3", len(ends))
	}
	for i, r := range out.Records {
		if !r.OK || r.CompletionTokens != 1 {
			t.Errorf("request %d: ok=%v completion=%d error=%q", r.Index, r.OK, r.CompletionTokens, r.Error)
		}
		// The wait for the end of the body is not part of the latency,
		// which ends at [DONE].
		if received := parseTime(t, "received_at", r.ReceivedAt); !received.Before(ends[i]) {
			t.Errorf("request %d: received_at %v is not before the end of the body %v", r.Index, received, ends[i])
		}
	}
	if got := accepted.Load(); got != 1 {
		t.Errorf("server accepted %d connections for 3 sequential streams, want 1", got)
	}
}

func TestNonStreamedOutputTokensPerSecond(t *testing.T) {
	_, base := startSim(t, simulator.Config{APIKey: testKey, Latency: 50 * time.Millisecond})
	rec := onlyRecord(t, send(t, newSender(testKey, base), batch(1)))
	if !rec.OK || rec.CompletionTokens != 7 {
		t.Fatalf("want ok with 7 completion tokens, got ok=%v completion=%d error=%q", rec.OK, rec.CompletionTokens, rec.Error)
	}
	if want := float64(rec.CompletionTokens) / rec.LatencySeconds; rec.OutputTokensPerSecond != want {
		t.Errorf("output_tokens_per_second = %v, want completion_tokens / latency_seconds = %v", rec.OutputTokensPerSecond, want)
	}
	if rec.Stream || rec.TTFTSeconds != nil || rec.TPOTSeconds != nil || rec.ChunkGapsSeconds != nil || rec.TokensEstimated {
		t.Errorf("a non-streamed record carries streaming fields: %+v", rec)
	}
	// Without x-ratelimit-* headers there is no rate_limit.
	if rec.RateLimit != nil {
		t.Errorf("rate_limit = %+v without rate-limit headers, want nil", rec.RateLimit)
	}
}

func ptrValue(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// TestRateLimitRecorded: 12 requests at once against a limit of 5 per
// minute: 7 are refused with 429 and a Retry-After, and every record, refused
// or not, carries the x-ratelimit-* headers.
func TestRateLimitRecorded(t *testing.T) {
	const n, limit = 12, 5
	sim, base := startSim(t, simulator.Config{APIKey: testKey, RateLimit: limit, RateWindow: time.Minute})
	in := batch(n)
	in.Pass = record.PassConcurrent
	in.Concurrency = n
	in.FireAt = time.Now().Add(200 * time.Millisecond)
	out := send(t, newSender(testKey, base), in)
	if len(out.Records) != n {
		t.Fatalf("got %d records, want %d", len(out.Records), n)
	}
	var remaining []int
	limited := 0
	for _, r := range out.Records {
		rl := r.RateLimit
		if rl == nil {
			t.Errorf("request %d (status %d): no rate_limit", r.Index, r.HTTPStatus)
			continue
		}
		if rl.LimitRequests == nil || *rl.LimitRequests != limit || rl.LimitTokens == nil || *rl.LimitTokens != simulator.DefaultTokenLimit {
			t.Errorf("request %d: limit_requests %s limit_tokens %s, want %d and %d", r.Index, ptrValue(rl.LimitRequests), ptrValue(rl.LimitTokens), limit, simulator.DefaultTokenLimit)
		}
		if rl.RemainingRequests == nil || rl.RemainingTokens == nil || rl.ResetRequests == "" || rl.ResetTokens == "" {
			t.Errorf("request %d: incomplete rate_limit %+v", r.Index, *rl)
		}
		if _, err := time.ParseDuration(rl.ResetRequests); err != nil {
			t.Errorf("request %d: reset_requests %q is not a duration", r.Index, rl.ResetRequests)
		}
		switch {
		case r.HTTPStatus == http.StatusTooManyRequests:
			limited++
			if r.OK {
				t.Errorf("request %d: a 429 counted as ok", r.Index)
			}
			if r.RetryAfterSeconds == nil || *r.RetryAfterSeconds <= 0 || *r.RetryAfterSeconds > 60 {
				t.Errorf("request %d: retry_after_seconds %v, want in (0, 60]", r.Index, r.RetryAfterSeconds)
			}
			if rl.RemainingRequests != nil && *rl.RemainingRequests != 0 {
				t.Errorf("request %d: a 429 with remaining_requests %d", r.Index, *rl.RemainingRequests)
			}
		case r.OK && r.HTTPStatus == http.StatusOK:
			if rl.RemainingRequests != nil {
				remaining = append(remaining, *rl.RemainingRequests)
			}
			if r.RetryAfterSeconds != nil {
				t.Errorf("request %d: retry_after_seconds on a success", r.Index)
			}
		default:
			t.Errorf("request %d: ok=%v status=%d error=%q", r.Index, r.OK, r.HTTPStatus, r.Error)
		}
	}
	if limited != n-limit {
		t.Errorf("%d records with HTTP 429, want %d", limited, n-limit)
	}
	slices.Sort(remaining)
	if !slices.Equal(remaining, []int{0, 1, 2, 3, 4}) {
		t.Errorf("remaining_requests of the successes = %v, want [0 1 2 3 4]", remaining)
	}
	if got := sim.Stats().ChatRequests; got != n {
		t.Errorf("simulator saw %d chat requests for %d sent", got, n)
	}
}

// Streamed responses carry the rate-limit headers too, and so does a
// streamed 429.
func TestRateLimitRecordedWhenStreamed(t *testing.T) {
	_, base := startSim(t, simulator.Config{APIKey: testKey, RateLimit: 1, RateWindow: time.Minute, OutputTokens: 3})
	out := send(t, newSender(testKey, base), streamBatch(2))
	if len(out.Records) != 2 {
		t.Fatalf("got %d records, want 2", len(out.Records))
	}
	ok, limited := out.Records[0], out.Records[1]
	if !ok.OK || !ok.Stream || ok.CompletionTokens != 3 {
		t.Fatalf("first request: ok=%v stream=%v completion=%d error=%q", ok.OK, ok.Stream, ok.CompletionTokens, ok.Error)
	}
	if ok.RateLimit == nil || ptrValue(ok.RateLimit.LimitRequests) != "1" || ptrValue(ok.RateLimit.RemainingRequests) != "0" {
		t.Errorf("streamed success: rate_limit %+v, want limit 1 and remaining 0", ok.RateLimit)
	}
	if limited.OK || limited.HTTPStatus != http.StatusTooManyRequests || !limited.Stream {
		t.Fatalf("second request: ok=%v status=%d stream=%v, want a streamed 429", limited.OK, limited.HTTPStatus, limited.Stream)
	}
	if limited.RateLimit == nil || limited.RetryAfterSeconds == nil || *limited.RetryAfterSeconds <= 0 {
		t.Errorf("streamed 429: rate_limit %+v retry_after %v, want both", limited.RateLimit, limited.RetryAfterSeconds)
	}
}

// Retry-After as an HTTP date, on a 503.
func TestRetryAfterHTTPDate(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))
		w.Header().Set("X-Ratelimit-Remaining-Tokens", "1234")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":{"message":"overloaded","type":"server_error"}}`)
	}))
	defer ts.Close()
	rec := onlyRecord(t, send(t, newSender(testKey, ts.URL+"/v1"), batch(1)))
	if rec.OK || rec.HTTPStatus != http.StatusServiceUnavailable {
		t.Fatalf("want a failed 503, got ok=%v status=%d", rec.OK, rec.HTTPStatus)
	}
	// The date has whole seconds, and some time passed since it was made.
	if r := rec.RetryAfterSeconds; r == nil || *r < 27 || *r > 30 {
		t.Errorf("retry_after_seconds %v, want about 30", rec.RetryAfterSeconds)
	}
	rl := rec.RateLimit
	if rl == nil || ptrValue(rl.RemainingTokens) != "1234" || rl.LimitRequests != nil || rl.ResetRequests != "" {
		t.Errorf("rate_limit %+v, want only remaining_tokens 1234", rl)
	}
}
