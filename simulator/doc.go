// Package simulator is a deterministic, in-process simulator of an
// OpenAI-compatible chat completion API.
//
// It exists so that tools which measure how much concurrency an
// OpenAI-compatible endpoint grants to one API key can be tested and
// demonstrated without a real provider: the simulator can be told to serve at
// most K requests at once (queueing the rest FIFO), to rate-limit, to add
// latency and per-token streaming delays, and to inject faults (HTTP
// 500/503/429, dropped connections, stalls, truncated or stalled answers,
// malformed bodies, slow headers).
//
// # Usage
//
// A *Server is an http.Handler, so it can be mounted on an httptest.Server:
//
//	sim := simulator.New(simulator.Config{Latency: 100 * time.Millisecond, MaxConcurrent: 4})
//	ts := httptest.NewServer(sim)
//	defer ts.Close()
//	defer sim.Close() // runs first: releases stalled/queued requests so ts.Close does not block
//	baseURL := ts.URL + "/v1"
//
// or it can listen by itself:
//
//	sim := simulator.New(cfg)
//	baseURL, err := sim.Start("127.0.0.1:0") // e.g. "http://127.0.0.1:41234/v1"
//	defer sim.Close()
//
// The command github.com/llmconc/llmconc/cmd/simulator runs it stand-alone.
//
// # Endpoints
//
// All paths live under /v1 and use OpenAI's wire format:
//
//   - POST /v1/chat/completions, non-streamed or streamed ("stream": true,
//     server-sent events terminated by "data: [DONE]"; a usage chunk is sent
//     only when stream_options.include_usage is true).
//   - GET /v1/models and GET /v1/models/{id}.
//
// Errors always carry OpenAI's error body
// {"error":{"message":...,"type":...,"param":...,"code":...}}.
// A chat completion request goes through these steps, in order:
// authentication (401 invalid_api_key), parsing and validation (400),
// model lookup (404 model_not_found), rate limit (429 rate_limit_exceeded),
// fault injection (500, 503, 429, dropped connection, stall, slow headers),
// the concurrency gate (FIFO queue when Config.MaxConcurrent requests are
// already being served), the simulated latency, and finally the response,
// which the Truncate, StallStream and Malformed faults spoil after its
// headers.
//
// # Faults on demand
//
// A request whose last message contains "[fault:NAME]" gets fault NAME
// whatever the fractions of Config.Faults; FaultNames lists the names. A
// load generator can so ask for each kind of failure with its prompts. When Config.RateLimit > 0
// every chat completion response after the authentication step carries
// OpenAI's x-ratelimit-* headers, and 429 responses also carry Retry-After.
//
// # Tokens
//
// The simulator does not run a tokenizer. One generated word is one
// completion token, so completion_tokens is the number of words in the
// answer (Config.OutputTokens, capped by the request's max_tokens or
// max_completion_tokens, in which case finish_reason is "length"). A streamed
// answer sends one word per content chunk. prompt_tokens is the number of
// whitespace-separated words over all message contents, plus 3 per message,
// plus 3 for priming the reply (the same per-message overhead OpenAI
// documents for its chat format).
//
// # Determinism
//
// Every random choice made for a request — its latency jitter, which fault it
// gets (if any), and the words of its answer — is derived from a hash of
// (Config.Seed, the request's model, and the role and content of each of its
// messages). Nothing depends on arrival order, wall-clock time or a shared
// random number generator, so concurrent arrival order does not change
// outcomes: the same request sent to a simulator with the same seed always
// gets the same jitter, the same fault and the same text, whether it is sent
// alone or among hundreds of concurrent requests. A request capped by
// max_tokens gets a prefix of the uncapped answer, and the streamed answer is
// the same text as the non-streamed one.
//
// A consequence is that fault fractions apply to distinct requests: with
// Faults.Error500 = 0.1, about one in ten distinct prompts fails, and every
// repetition of a failing prompt fails again. Load generators that want a
// spread of outcomes should vary their prompts (for example, by numbering
// them).
//
// The only things that are not deterministic are those that are inherently
// about time: rate limiting (a fixed window that starts at the first request
// counted), queueing order among requests that arrive at the same moment, the
// "created" timestamps, and response IDs.
//
// With Config.Azure it serves Azure OpenAI's API instead (see azure.go):
// POST /openai/deployments/{deployment}/chat/completions with the query
// api-version and the key in the api-key header, the deployment being the
// model.
package simulator
