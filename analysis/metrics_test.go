package analysis_test

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/stats"
)

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }

// streamed is a successful streamed record with TTFT, TPOT and chunk gaps.
func streamed(from, to, ttft, tpot float64, gaps ...float64) record.Request {
	r := sent(from, to)
	r.Stream, r.TTFTSeconds, r.TPOTSeconds, r.ChunkGapsSeconds = true, f64(ttft), f64(tpot), gaps
	return r
}

// reversed returns the records in the opposite order.
func reversed(recs []record.Request) []record.Request {
	out := slices.Clone(recs)
	slices.Reverse(out)
	return out
}

func withIndex(r record.Request, i int) record.Request {
	r.Index = i
	return r
}

// jsonOf marshals v and decodes it as generic JSON.
func jsonOf(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSummarizeLatencyPercentiles(t *testing.T) {
	var recs []record.Request
	for i := 100; i >= 1; i-- { // latencies 100..1, out of order
		recs = append(recs, sent(0, float64(i)))
	}
	recs = append(recs, failedAt(0, 500, 500), notSent()) // not in the latencies
	s := analysis.Summarize(recs)
	require.NotNil(t, s.Latency)
	assert.Equal(t, 100, s.Latency.N)
	assert.InDelta(t, 50.5, s.Latency.Mean, eps)
	assert.InDelta(t, s.AverageLatencySeconds, s.Latency.Mean, eps, "the mean is average_latency_seconds")
	assert.InDelta(t, 1, s.Latency.Min, eps)
	assert.InDelta(t, 100, s.Latency.Max, eps, "the failed request's 500s is left out")
	assert.InDelta(t, 50.5, s.Latency.P50, eps)
	assert.InDelta(t, 90.1, s.Latency.P90, eps)
	assert.InDelta(t, 95.05, s.Latency.P95, eps)
	assert.InDelta(t, 99.01, s.Latency.P99, eps)
	assert.InDelta(t, 29.011491975882016, s.Latency.Stddev, eps)

	t.Run("one request", func(t *testing.T) {
		s := analysis.Summarize([]record.Request{sent(0, 1.5)})
		assert.Equal(t, &stats.Summary{Mean: 1.5, Min: 1.5, Max: 1.5, P50: 1.5, P90: 1.5, P95: 1.5, P99: 1.5, N: 1}, s.Latency)
	})
	t.Run("two requests", func(t *testing.T) {
		s := analysis.Summarize([]record.Request{sent(0, 1), sent(0, 3)})
		require.NotNil(t, s.Latency)
		assert.InDelta(t, 2, s.Latency.P50, eps)
		assert.InDelta(t, 2.8, s.Latency.P90, eps)
		assert.InDelta(t, 1.4142135623730951, s.Latency.Stddev, eps)
	})
	t.Run("no successful request", func(t *testing.T) {
		s := analysis.Summarize([]record.Request{failedAt(0, 1, 500)})
		assert.Nil(t, s.Latency)
	})
}

func TestSummarizeStreamingFigures(t *testing.T) {
	brokenStream := failedAt(0, 9, 0) // dropped mid-stream after its first chunk
	brokenStream.Stream, brokenStream.TTFTSeconds, brokenStream.ChunkGapsSeconds = true, f64(0.9), []float64{5, 5}
	plainWithGaps := sent(0, 1) // not streamed: its gaps, if any, are not inter-token latencies
	plainWithGaps.ChunkGapsSeconds = []float64{7}
	oneToken := sent(0, 0.4) // streamed, a single output token: TTFT but no TPOT, no gap
	oneToken.Stream, oneToken.TTFTSeconds = true, f64(0.4)

	s := analysis.Summarize([]record.Request{
		streamed(0, 2, 0.5, 0.02, 0.1, 0.2),
		streamed(0, 3, 0.3, 0.04, 0.3),
		brokenStream, plainWithGaps, oneToken,
	})
	assert.True(t, s.Stream)

	require.NotNil(t, s.TTFT)
	assert.Equal(t, 4, s.TTFT.N, "every record with a TTFT, the failed one included")
	assert.InDelta(t, (0.5+0.3+0.9+0.4)/4, s.TTFT.Mean, eps)
	assert.InDelta(t, 0.3, s.TTFT.Min, eps)
	assert.InDelta(t, 0.9, s.TTFT.Max, eps)
	assert.InDelta(t, 0.45, s.TTFT.P50, eps)

	require.NotNil(t, s.TPOT)
	assert.Equal(t, 2, s.TPOT.N)
	assert.InDelta(t, 0.03, s.TPOT.Mean, eps)

	// ITL pools the gaps of the successful streamed requests: 0.1, 0.2, 0.3.
	require.NotNil(t, s.ITL)
	assert.Equal(t, 3, s.ITL.N)
	assert.InDelta(t, 0.2, s.ITL.Mean, eps)
	assert.InDelta(t, 0.1, s.ITL.Min, eps)
	assert.InDelta(t, 0.3, s.ITL.Max, eps)
	assert.InDelta(t, 0.2, s.ITL.P50, eps)
	assert.InDelta(t, 0.1, s.ITL.Stddev, eps)
	assert.InDelta(t, 0.298, s.ITL.P99, eps)
}

func TestSummarizeWithoutStreamingData(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records []record.Request
	}{
		{"no records", nil},
		{"plain requests", []record.Request{sent(0, 1), failedAt(1, 2, 429)}},
		{"streamed without chunks", []record.Request{func() record.Request {
			r := failedAt(0, 1, 503)
			r.Stream = true
			return r
		}()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := analysis.Summarize(tc.records)
			assert.Nil(t, s.TTFT)
			assert.Nil(t, s.TPOT)
			assert.Nil(t, s.ITL)
			assert.Nil(t, s.RateLimit)
			assert.Nil(t, s.RetryAfterMaxSeconds)
			assert.NotNil(t, s.StatusCounts, "status_counts is {} rather than null")

			m := jsonOf(t, s)
			for _, k := range []string{"ttft", "tpot", "itl", "rate_limit"} {
				v, present := m[k]
				assert.True(t, present, "%s is present", k)
				assert.Nil(t, v, "%s is null", k)
			}
			assert.NotContains(t, m, "retry_after_max_seconds")
			assert.IsType(t, map[string]any{}, m["status_counts"])
		})
	}
	assert.False(t, analysis.Summarize([]record.Request{sent(0, 1)}).Stream)
	assert.Nil(t, analysis.Summarize(nil).Latency)
}

func TestSummarizeOutputTokensPerSecond(t *testing.T) {
	a, b := sent(0, 2), sent(1, 4)
	a.CompletionTokens, b.CompletionTokens = 100, 50
	a.OutputTokensPerSecond, b.OutputTokensPerSecond = 50, 50.0/3
	failed := failedAt(3, 5, 500)
	failed.CompletionTokens = 1000 // a failed request's tokens do not count
	s := analysis.Summarize([]record.Request{a, b, failed})
	assert.InDelta(t, 5, s.TotalSeconds, eps)
	assert.InDelta(t, 150.0/5, s.OutputTokensPerSecond, eps, "total tokens over the pass's wall time, not a mean of the per-request rates")

	assert.Zero(t, analysis.Summarize(nil).OutputTokensPerSecond)
	zero := sent(1, 1) // no wall time: no rate rather than +Inf
	zero.CompletionTokens = 10
	assert.Zero(t, analysis.Summarize([]record.Request{zero}).OutputTokensPerSecond)
}

func TestSummarizeStatusCounts(t *testing.T) {
	timeout := failedAt(0, 120, 0)
	recs := []record.Request{
		sent(0, 1), sent(0, 2), failedAt(0, 0.1, 429), failedAt(0, 0.2, 429), failedAt(0, 0.3, 503),
		timeout, notSent(),
	}
	s := analysis.Summarize(recs)
	assert.Equal(t, map[string]int{"200": 2, "429": 2, "503": 1, "0": 2}, s.StatusCounts)
	total := 0
	for _, n := range s.StatusCounts {
		total += n
	}
	assert.Equal(t, s.Successful+s.Failed, total)
	assert.Equal(t, map[string]int{}, analysis.Summarize(nil).StatusCounts)
}

// limited is a record at index i, answered at to, with the given headers.
func limited(i int, to float64, rl record.RateLimit) record.Request {
	r := withIndex(sent(0, to), i)
	r.RateLimit = &rl
	return r
}

func TestSummarizeRateLimit(t *testing.T) {
	recs := []record.Request{
		limited(0, 1, record.RateLimit{LimitRequests: intp(500), RemainingRequests: intp(499), ResetRequests: "120ms",
			LimitTokens: intp(200000), RemainingTokens: intp(150), ResetTokens: "9s"}),
		limited(1, 2, record.RateLimit{LimitRequests: intp(500), RemainingRequests: intp(3), ResetRequests: "7.2s",
			LimitTokens: intp(200000), RemainingTokens: intp(199000), ResetTokens: "1ms"}),
		// Same remaining requests as index 1, received later: index 1 stays.
		limited(2, 3, record.RateLimit{LimitRequests: intp(500), RemainingRequests: intp(3), ResetRequests: "99s"}),
		// Only a limit, no remaining count: ranks after every remaining count.
		limited(3, 4, record.RateLimit{LimitTokens: intp(10)}),
		withIndex(sent(0, 5), 4), // no headers
	}
	want := &analysis.RateLimitSummary{
		Requests: &analysis.RateLimitWindow{Remaining: intp(3), Limit: intp(500), Reset: "7.2s", Index: 1},
		Tokens:   &analysis.RateLimitWindow{Remaining: intp(150), Limit: intp(200000), Reset: "9s", Index: 0},
	}
	assert.Equal(t, want, analysis.Summarize(recs).RateLimit, "each limit from its own tightest response")
	assert.Equal(t, want, analysis.Summarize(reversed(recs)).RateLimit, "the order of the records does not matter")

	t.Run("a 429 with remaining 0 wins", func(t *testing.T) {
		r := failedAt(0, 0.5, 429)
		r.Index = 9
		r.RateLimit = &record.RateLimit{RemainingRequests: intp(0), ResetRequests: "2s"}
		s := analysis.Summarize(append(slices.Clone(recs), r))
		require.NotNil(t, s.RateLimit)
		assert.Equal(t, &analysis.RateLimitWindow{Remaining: intp(0), Reset: "2s", Index: 9}, s.RateLimit.Requests)
		assert.Equal(t, want.Tokens, s.RateLimit.Tokens)
	})
	t.Run("ties go to the earlier response, then the lower index", func(t *testing.T) {
		same := record.RateLimit{RemainingTokens: intp(7)}
		s := analysis.Summarize([]record.Request{limited(5, 3, same), limited(8, 2, same), limited(6, 2, same)})
		require.NotNil(t, s.RateLimit)
		assert.Equal(t, 6, s.RateLimit.Tokens.Index)
		assert.Nil(t, s.RateLimit.Requests, "no response spoke of the request limit")
	})
	t.Run("only limits", func(t *testing.T) {
		s := analysis.Summarize([]record.Request{limited(0, 1, record.RateLimit{LimitTokens: intp(10)})})
		require.NotNil(t, s.RateLimit)
		assert.Equal(t, &analysis.RateLimitWindow{Limit: intp(10)}, s.RateLimit.Tokens)
	})
	t.Run("empty headers count as none", func(t *testing.T) {
		s := analysis.Summarize([]record.Request{limited(0, 1, record.RateLimit{})})
		assert.Nil(t, s.RateLimit)
	})
	t.Run("json", func(t *testing.T) {
		m := jsonOf(t, analysis.Summarize(recs))["rate_limit"].(map[string]any)
		assert.Equal(t, []string{"requests", "tokens"}, sortedKeys(m))
		req := m["requests"].(map[string]any)
		assert.Equal(t, []string{"index", "limit", "remaining", "reset"}, sortedKeys(req))
		assert.EqualValues(t, 3, req["remaining"])
		assert.EqualValues(t, 500, req["limit"])
		assert.Equal(t, "7.2s", req["reset"])
		assert.EqualValues(t, 1, req["index"])
	})
	t.Run("the summary does not alias the records", func(t *testing.T) {
		s := analysis.Summarize(recs)
		*recs[1].RateLimit.RemainingRequests = 42
		assert.Equal(t, 3, *s.RateLimit.Requests.Remaining)
		*recs[1].RateLimit.RemainingRequests = 3
	})
}

func TestSummarizeRetryAfter(t *testing.T) {
	var recs []record.Request
	for _, ra := range []float64{1, 20.5, 5} {
		r := failedAt(0, 1, 429)
		r.RetryAfterSeconds = f64(ra)
		recs = append(recs, r)
	}
	recs = append(recs, sent(0, 1))
	s := analysis.Summarize(recs)
	require.NotNil(t, s.RetryAfterMaxSeconds)
	assert.InDelta(t, 20.5, *s.RetryAfterMaxSeconds, eps)
	assert.InDelta(t, 20.5, jsonOf(t, s)["retry_after_max_seconds"], eps)

	zero := failedAt(0, 1, 503)
	zero.RetryAfterSeconds = f64(0)
	s = analysis.Summarize([]record.Request{zero})
	require.NotNil(t, s.RetryAfterMaxSeconds, "Retry-After: 0 was seen")
	assert.Zero(t, *s.RetryAfterMaxSeconds)
	assert.Contains(t, jsonOf(t, s), "retry_after_max_seconds")
}

func TestSummarizeStreamFlag(t *testing.T) {
	r := failedAt(0, 1, 429)
	r.Stream = true
	assert.True(t, analysis.Summarize([]record.Request{r, sent(0, 1)}).Stream, "any streamed record, even a failed one")
	assert.False(t, analysis.Summarize([]record.Request{sent(0, 1), sent(1, 2)}).Stream)
}

// TestPassSummaryJSON pins the names of a pass's figures and of the stats
// objects inside.
func TestPassSummaryJSON(t *testing.T) {
	r := streamed(0, 2, 0.5, 0.02, 0.1, 0.2)
	r.RateLimit = &record.RateLimit{RemainingRequests: intp(1)}
	r.RetryAfterSeconds = f64(3)
	m := jsonOf(t, analysis.Summarize([]record.Request{r}))
	assert.Equal(t, []string{"average_latency_seconds", "cold_connections", "connections", "dispatch_gap_seconds", "failed", "itl", "latency",
		"max_in_flight", "observed_server_concurrency", "output_tokens_per_second", "rate_limit", "retry_after_max_seconds", "start_spread_seconds",
		"status_counts", "stream", "successful", "total_seconds", "tpot", "ttft"}, sortedKeys(m))
	statKeys := []string{"max", "mean", "min", "n", "p50", "p90", "p95", "p99", "stddev"}
	for _, k := range []string{"latency", "ttft", "tpot", "itl"} {
		assert.Equal(t, statKeys, sortedKeys(m[k].(map[string]any)), k)
	}
	assert.Equal(t, true, m["stream"])
	assert.Equal(t, map[string]any{"200": 1.0}, m["status_counts"])
}

// TestSummarizeOrderIndependent: the workflow summarizes records in arrival
// order, the report in index order; they must agree.
func TestSummarizeOrderIndependent(t *testing.T) {
	a := streamed(0, 2, 0.5, 0.02, 0.1, 0.2)
	a.RateLimit = &record.RateLimit{RemainingTokens: intp(5)}
	b := withIndex(streamed(1, 3, 0.3, 0.01, 0.4), 1)
	b.RateLimit = &record.RateLimit{RemainingTokens: intp(5)}
	c := withIndex(failedAt(2, 2.5, 429), 2)
	c.RetryAfterSeconds = f64(2)
	recs := []record.Request{a, b, c}
	assert.Equal(t, analysis.Summarize(recs), analysis.Summarize(reversed(recs)))
}
