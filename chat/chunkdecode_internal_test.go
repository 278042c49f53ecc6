package chat

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fastSeeds are chunks as servers send them, which fastChunk reads.
var fastSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733000000,"model":"gpt-4.1-nano","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733000000,"model":"gpt-4.1-nano","choices":[{"index":0,"delta":{"content":" héllo"},"logprobs":null,"finish_reason":null}],"usage":null}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733000000,"model":"gpt-4.1-nano","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
	`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
	`{"choices":[{"index":1,"delta":{"reasoning_content":"think","content":null}},{"index":0,"delta":{"content":"a"}}]}`,
	` { "model" : "m" , "choices" : null } `,
	`{"choices":[{"delta":null,"index":-3}]}`,
	`{"usage":{"prompt_tokens":12345678901}}`,
	`{"error":{"message":"overloaded","type":"server_error"}}`,
	`{"x":[1,{"y":[true,false,null,"s"]},-2]}`,
}

// slowSeeds are chunks fastChunk leaves to json.Unmarshal.
var slowSeeds = []string{
	`{"model":"line\nbreak"}`,
	`{"Model":"case"}`,
	`{"model":"a","model":"b"}`,
	`{"choices":[{"index":1.5}]}`,
	`{"choices":[{"index":01}]}`,
	`{"usage":{"prompt_tokens":123456789012345678901}}`,
	`{"model":5}`,
	`{"model":"x"} trailing`,
	`{"usage":{"prompt_tokens":1e3}}`,
	`{"choices":[{"index":0,"index":1}]}`,
	`{"choices":[{"delta":{"Content":"x"}}]}`,
	"{\"model\":\"\xff\"}",
	`{"ſtuff":1,"K":2}`,
	`[]`,
	``,
}

// FuzzDecodeChunk holds decodeChunk to json.Unmarshal: the same chunk, the
// same error or none, for any input.
func FuzzDecodeChunk(f *testing.F) {
	for _, s := range append(fastSeeds, slowSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got, want streamChunk
		gotErr := decodeChunk(raw, &got)
		wantErr := json.Unmarshal(raw, &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: decodeChunk error %v, json.Unmarshal error %v", raw, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeChunk %+v, json.Unmarshal %+v", raw, got, want)
		}
	})
}

// TestFastChunkTakesServersChunks: the chunks servers send are read by the
// fast path, not json.Unmarshal; those it must not read are left to it.
func TestFastChunkTakesServersChunks(t *testing.T) {
	for _, s := range fastSeeds {
		if c := (streamChunk{}); !fastChunk([]byte(s), &c) {
			t.Errorf("fastChunk(%s) = false, want true", s)
		}
	}
	for _, s := range slowSeeds {
		if c := (streamChunk{}); fastChunk([]byte(s), &c) {
			t.Errorf("fastChunk(%s) = true, want false", s)
		}
	}
}

func BenchmarkDecodeChunk(b *testing.B) {
	raw := []byte(fastSeeds[1])
	b.Run("decodeChunk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c streamChunk
			if err := decodeChunk(raw, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c streamChunk
			if err := json.Unmarshal(raw, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
