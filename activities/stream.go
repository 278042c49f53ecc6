package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmconc/llmconc/record"
)

// Streamed requests go through go-openai's stream API
// (CreateChatCompletionStream, then RecvRaw), so that they are sent, and
// their errors, status and body decoded, exactly like the non-streamed ones.
// The reader parses as it reads, though, and hands out a chunk only when it
// is asked for one: timing the chunks as they come out of it would time our
// own loop. So the chunks are timed one layer down: CaptureTransport wraps
// the response body in an eventClock (see capture.go) that notes, for each
// SSE "data:" line, the instant its last byte came out of the connection,
// before any parsing. The reader hands out the data lines in the order they
// arrived, one per RecvRaw, so the k-th RecvRaw is the k-th line the clock
// saw. Reading the SSE stream ourselves from the raw body would give the
// same times, but a second SSE parser to keep in step with go-openai's.

// drainWait bounds the wait, after "data: [DONE]", for the end of the
// response body, which lets the transport reuse the connection.
const drainWait = 250 * time.Millisecond

// drainLimit bounds what is read, after "data: [DONE]", to reach the end of
// the response body.
const drainLimit = 64 << 10

// incomplete starts the error of a stream that stopped short.
const incomplete = "stream ended before the response was complete"

// callStream sends a streamed request and times its chunks.
//
// The record: ttft_seconds is the arrival of the first chunk with content
// minus the send; latency_seconds runs to the arrival of "data: [DONE]";
// tpot_seconds is (latency - TTFT) / (completion tokens - 1), vLLM's
// definition; chunk_gaps_seconds are the gaps between consecutive chunks with
// content. Tokens come from the final usage chunk (asked for with
// stream_options.include_usage); without one, each chunk with content counts
// as one completion token and tokens_estimated is set.
//
// A stream is a success only if it ends with "data: [DONE]" after a chunk
// with a finish_reason. An error event, a read error, a body that ends
// early or the request timeout make the record a failure, without any of the
// streaming metrics: the error says how far the stream got.
func (a *Activities) callStream(ctx context.Context, cancel context.CancelFunc, req openai.ChatCompletionRequest, capture *Capture, timeout time.Duration, rec *record.Request) {
	req.Stream = true
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	sent := time.Now()
	stream, err := a.Client.CreateChatCompletionStream(ctx, req)
	sent = capture.conn.sentAt(sent)
	rec.HTTPStatus = capture.Status()
	if err != nil {
		rec.SetTimes(sent, time.Now())
		a.requestFailed(ctx, err, capture, timeout, rec)
		return
	}
	defer stream.Close()
	if rec.HTTPStatus == 0 {
		rec.HTTPStatus = http.StatusOK
	}

	var (
		text     strings.Builder
		contents []time.Time // arrival of each chunk with content
		usage    *openai.Usage
		finished bool // a finish_reason arrived
		model    string
	)
	failed := func(kind, msg string) {
		rec.SetTimes(sent, time.Now())
		a.fail(rec, kind, msg)
	}
	// An error event is the server's own word that the stream failed; it
	// has no status of its own.
	// cut says the message came from an error line cut at maxLineHead: an
	// echoed key may begin at its end (see Redactor.Line).
	eventError := func(msg string, cut bool) {
		rec.SetTimes(sent, time.Now())
		a.failCut(rec, record.ErrorKindOther, fmt.Sprintf("error event in the stream after %d content chunks: %s", len(contents), msg), cut)
	}
	payloadCut := func(ev Event) bool { return len(ev.Payload) >= maxLineHead }
	for k := 0; ; k++ {
		raw, err := stream.RecvRaw()
		ev, _ := capture.Event(k)
		if errors.Is(err, io.EOF) {
			// go-openai says io.EOF both at "data: [DONE]" and at the end
			// of the body; the clock tells them apart.
			if ev.Error {
				msg, _ := streamErrorMessage([]byte(ev.Payload))
				eventError(msg, payloadCut(ev))
				return
			}
			if !ev.Done || !finished {
				how, isStream := progress(len(contents), capture, k)
				kind := record.ErrorKindStreamTruncated
				switch {
				case capture.cutCause() == errResponseTooLarge:
					failed(record.ErrorKindResponseTooLarge, tooLargeMessage(capture))
					return
				case capture.cutCause() == errStreamStalled:
					kind = record.ErrorKindStreamStalled
				case !isStream:
					kind = record.ErrorKindMalformedResponse
				}
				failed(kind, fmt.Sprintf("%s: %s (%s)", incomplete, missingEnd(finished, ev.Done), how))
				return
			}
			rec.SetTimes(sent, ev.At)
			break
		}
		if err != nil {
			var apiErr *openai.APIError
			switch {
			case capture.cutCause() == errResponseTooLarge:
				failed(record.ErrorKindResponseTooLarge, tooLargeMessage(capture))
			case errors.As(err, &apiErr):
				msg := strings.TrimSpace(apiErr.Message)
				if msg == "" && ev.Error {
					msg, _ = streamErrorMessage([]byte(ev.Payload))
				}
				if msg == "" {
					msg = err.Error()
				}
				eventError(msg, payloadCut(ev))
			case capture.cutCause() == errStreamStalled:
				failed(record.ErrorKindStreamStalled, fmt.Sprintf("the stream stalled: nothing for %s (half the request timeout %s; %d content chunks had arrived)", capture.StallTimeout, timeout, len(contents)))
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				failed(record.ErrorKindTimeout, fmt.Sprintf("the stream did not finish within the request timeout (%s; %d content chunks had arrived)", timeout, len(contents)))
			case errors.Is(ctx.Err(), context.Canceled):
				failed(record.ErrorKindCancelled, fmt.Sprintf("cancelled before the stream finished (%d content chunks had arrived)", len(contents)))
			case errors.Is(err, openai.ErrTooManyEmptyStreamMessages):
				failed(record.ErrorKindMalformedResponse, fmt.Sprintf("malformed stream: %v (after %d content chunks)", err, len(contents)))
			default:
				// The body broke off: the connection closed or was reset
				// in the middle of the stream.
				failed(record.ErrorKindStreamTruncated, fmt.Sprintf("%s: %v (after %d content chunks)", incomplete, err, len(contents)))
			}
			return
		}
		if ev.Error {
			// An error event that go-openai could not decode (such as
			// {"error":"text"}) comes out as an empty line.
			msg, _ := streamErrorMessage([]byte(ev.Payload))
			eventError(msg, payloadCut(ev))
			return
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // an empty event, as a keep-alive
		}
		var chunk openai.ChatCompletionStreamResponse
		if err := json.Unmarshal(raw, &chunk); err != nil {
			failed(record.ErrorKindMalformedResponse, fmt.Sprintf("undecodable chunk in the stream after %d content chunks: %v: %s", len(contents), err, raw))
			return
		}
		if len(chunk.Choices) == 0 && chunk.Usage == nil {
			if msg, ok := streamErrorMessage(raw); ok {
				eventError(msg, false)
				return
			}
		}
		at := ev.At
		if at.IsZero() {
			at = time.Now() // cannot happen: the clock saw the line
		}
		hasContent := false
		for _, c := range chunk.Choices {
			d := c.Delta
			if d.Content != "" || d.ReasoningContent != "" || d.Refusal != "" {
				hasContent = true
			}
			if c.Index == 0 {
				text.WriteString(d.Content)
			}
			if c.FinishReason != "" {
				finished = true
			}
		}
		if hasContent {
			contents = append(contents, at)
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
		if chunk.Model != "" {
			model = chunk.Model
		}
	}

	// Read the end of the body so that the connection can be reused; the
	// record is already complete.
	stop := time.AfterFunc(drainWait, cancel)
	capture.drainBody(drainLimit)
	stop.Stop()

	rec.OK = true
	if model != "" {
		rec.Model = model
	}
	if usage != nil {
		rec.PromptTokens = usage.PromptTokens
		rec.CompletionTokens = usage.CompletionTokens
	} else {
		rec.CompletionTokens = len(contents)
		rec.TokensEstimated = true
	}
	rec.Response = text.String()
	if len(contents) == 0 {
		return
	}
	ttft := contents[0].Sub(sent).Seconds()
	rec.TTFTSeconds = &ttft
	if len(contents) > 1 {
		rec.ChunkGapsSeconds = make([]float64, len(contents)-1)
		for i := 1; i < len(contents); i++ {
			rec.ChunkGapsSeconds[i-1] = contents[i].Sub(contents[i-1]).Seconds()
		}
	}
	if rec.CompletionTokens >= 2 {
		tpot := (rec.LatencySeconds - ttft) / float64(rec.CompletionTokens-1)
		rec.TPOTSeconds = &tpot
	}
}

// missingEnd names what a stream lacked to be complete.
func missingEnd(finished, done bool) string {
	switch {
	case !finished && !done:
		return "no finish_reason and no data: [DONE]"
	case !done:
		return "no data: [DONE]"
	default:
		return "data: [DONE] without a finish_reason"
	}
}

// progress says how far a stream that ended early got: k is the number of
// events read. A body that was no stream at all says so, and isStream is
// then false.
func progress(contents int, capture *Capture, k int) (how string, isStream bool) {
	if k == 0 {
		if ct := capture.Header().Get("Content-Type"); ct != "" {
			if mt, _, _ := mime.ParseMediaType(ct); mt != "text/event-stream" {
				return "no events; the response is " + truncate(ct, 60) + ", not text/event-stream", false
			}
		}
		return "no events", true
	}
	return fmt.Sprintf("after %d content chunks", contents), true
}

// streamErrorMessage recognizes the error events of OpenAI-compatible
// servers: {"error":{"message":...}} (OpenAI, vLLM), {"error":"..."}
// (Hugging Face TGI) and {"object":"error","message":...}. It returns the
// message, or the payload itself when it has none. Nothing is cut here:
// the record's error is cut once the key is redacted (a key cut in two
// would escape redaction).
func streamErrorMessage(payload []byte) (string, bool) {
	var probe struct {
		Object  string          `json:"object"`
		Message string          `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		// A cut error line (see Event.Payload) still is one.
		return strings.TrimSpace(string(payload)), bytes.HasPrefix(payload, []byte(`{"error":`))
	}
	raw := bytes.TrimSpace(probe.Error)
	isErr := (len(raw) > 0 && string(raw) != "null") || probe.Object == "error"
	if !isErr {
		return "", false
	}
	msg := probe.Message
	var obj struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	var str string
	switch {
	case json.Unmarshal(raw, &obj) == nil && obj.Message != "":
		msg = obj.Message
	case json.Unmarshal(raw, &str) == nil && str != "":
		msg = str
	}
	if strings.TrimSpace(msg) == "" {
		msg = string(payload)
	}
	return strings.TrimSpace(msg), true
}
