package chat

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/measure"
	"github.com/llmconc/llmconc/record"
)

// fuzzKey is the key the fuzzed endpoint could echo.
const fuzzKey = "sk-fuzz-Q7wE9rT2yU4iO6pA8sD0fG1hJ3kL5zX"

// bodyTransport answers every request with status, header and body, without
// a network.
type bodyTransport struct {
	status int
	header http.Header
	body   []byte
}

func (b bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: b.status, Status: http.StatusText(b.status), Header: b.header.Clone(),
		Body: io.NopCloser(bytes.NewReader(b.body)), Request: req, ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

// fuzzSender returns a Sender whose endpoint answers with t.
func fuzzSender(t bodyTransport) *Sender {
	oc := openai.DefaultConfig(fuzzKey)
	oc.BaseURL = "http://fuzz.invalid/v1"
	noRedirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	oc.HTTPClient = &http.Client{Transport: measure.CaptureTransport{Base: t}, CheckRedirect: noRedirects}
	return &Sender{Client: openai.NewClientWithConfig(oc), Redactor: measure.NewRedactor(fuzzKey)}
}

var knownKinds = map[string]bool{
	"": true, record.ErrorKindTimeout: true, record.ErrorKindHTTP5xx: true, record.ErrorKindRateLimited: true, record.ErrorKindHTTP4xx: true,
	record.ErrorKindConnectionDropped: true, record.ErrorKindStreamStalled: true, record.ErrorKindStreamTruncated: true,
	record.ErrorKindMalformedResponse: true, record.ErrorKindSlowHeaders: true, record.ErrorKindCancelled: true,
	record.ErrorKindRedirect: true, record.ErrorKindResponseTooLarge: true, record.ErrorKindOther: true,
}

// checkRecord holds what every record must be, whatever the endpoint sent.
func checkRecord(t *testing.T, rec record.Request) {
	t.Helper()
	if !knownKinds[rec.ErrorKind] || rec.OK == (rec.ErrorKind != "") {
		t.Fatalf("ok %v with error_kind %q", rec.OK, rec.ErrorKind)
	}
	if len(rec.Error) > measure.MaxErrorLen+len("…") || strings.ContainsAny(rec.Error, "\r\n\x00\x1b") || !utf8.ValidString(rec.Error) {
		t.Fatalf("error not one clean line of at most %d bytes: %q", measure.MaxErrorLen, rec.Error)
	}
	for _, s := range []string{rec.Error, rec.Response, rec.Model} {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\x1b\x07\r") {
			t.Fatalf("a field holds invalid UTF-8 or control characters: %q", s)
		}
		for i := 0; i+measure.MinKeyFragment <= len(fuzzKey); i++ {
			if strings.Contains(s, fuzzKey[i:i+measure.MinKeyFragment]) {
				t.Fatalf("a field holds a piece of the key: %q", s)
			}
		}
	}
	if rec.RetryAfterSeconds != nil && (*rec.RetryAfterSeconds < 0 || math.IsNaN(*rec.RetryAfterSeconds) || math.IsInf(*rec.RetryAfterSeconds, 0)) {
		t.Fatalf("retry_after_seconds %v", *rec.RetryAfterSeconds)
	}
}

// FuzzSSE sends a streamed request to an endpoint that answers with the
// fuzzed body: whatever it is, the stream reader (the transport's event
// clock and bounds, go-openai's reader, the chunk parser) gives a record
// that is sane, and never a piece of the key.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
		"data: {\"error\":{\"message\":\"Bearer " + fuzzKey + "\"}}\n\n",
		"data: {\"error\":\"" + fuzzKey[:20] + "\n" + fuzzKey[20:] + "\"}\n",
		"data: [DONE]\n",
		": comment\nevent: x\ndata:\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\u001b[31m" + fuzzKey + "\"},\"finish_reason\":\"stop\"}],\"model\":\"m\\u0007\"}\ndata: [DONE]\n",
		"data: not json\n",
		"<html>oops</html>",
	} {
		f.Add([]byte(s), uint16(200), false)
	}
	f.Add([]byte(`{"error":{"message":"`+fuzzKey+`"}}`), uint16(500), false)
	f.Add([]byte(`{"error":{"message":"x"}}`), uint16(429), true)
	f.Add([]byte(""), uint16(307), false)
	f.Fuzz(func(t *testing.T, body []byte, status uint16, retryHeader bool) {
		code := int(status%500) + 100
		h := http.Header{"Content-Type": {"text/event-stream"}, "Location": {"http://other.invalid:1/x?" + fuzzKey}}
		if retryHeader {
			h.Set("Retry-After", string(body[:min(len(body), 20)]))
			h.Set("X-Ratelimit-Reset-Requests", fuzzKey)
		}
		s := fuzzSender(bodyTransport{status: code, header: h, body: body})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, stream := range []bool{true, false} {
			// Send: call, then the record made safe (Redactor.Sanitize).
			rec := s.Send(ctx, Params{Pass: record.PassConcurrent, Model: "m", MaxTokens: 4, Stream: stream, Timeout: 5 * time.Second}, Prompt{Text: "p"})
			checkRecord(t, rec)
			if rec.OK && (code < 200 || code > 299) {
				t.Fatalf("HTTP %d taken for a success", code)
			}
		}
	})
}
