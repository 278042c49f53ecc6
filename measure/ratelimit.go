package measure

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmconc/llmconc/record"
)

// OpenAI's rate-limit headers.
const (
	headerLimitRequests     = "X-Ratelimit-Limit-Requests"
	headerRemainingRequests = "X-Ratelimit-Remaining-Requests"
	headerResetRequests     = "X-Ratelimit-Reset-Requests"
	headerLimitTokens       = "X-Ratelimit-Limit-Tokens"
	headerRemainingTokens   = "X-Ratelimit-Remaining-Tokens"
	headerResetTokens       = "X-Ratelimit-Reset-Tokens"
)

// RateLimitFrom reads the x-ratelimit-* headers of a response; nil when it
// has none. A count that is not a number stays nil; a reset time is kept as
// sent ("1s", "6m0s"), cut at 64 bytes.
func RateLimitFrom(h http.Header) *record.RateLimit {
	var (
		rl    record.RateLimit
		found bool
	)
	count := func(name string) *int {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			return nil
		}
		found = true
		if n, err := strconv.Atoi(v); err == nil {
			return &n
		}
		// Some servers send counts as decimals ("999.0").
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= math.MinInt32 && f <= math.MaxInt32 {
			n := int(f)
			return &n
		}
		return nil
	}
	reset := func(name string) string {
		v := strings.TrimSpace(h.Get(name))
		if v != "" {
			found = true
		}
		return Truncate(v, 64)
	}
	rl.LimitRequests = count(headerLimitRequests)
	rl.RemainingRequests = count(headerRemainingRequests)
	rl.ResetRequests = reset(headerResetRequests)
	rl.LimitTokens = count(headerLimitTokens)
	rl.RemainingTokens = count(headerRemainingTokens)
	rl.ResetTokens = reset(headerResetTokens)
	if !found {
		return nil
	}
	return &rl
}

// RetryAfterSeconds reads how long a 429 or 503 asks the client to wait:
// Retry-After in seconds or as an HTTP date (converted to seconds from now,
// 0 if past), or retry-after-ms, which some servers (Azure OpenAI) add for
// more precision and which is preferred when present, as OpenAI's own SDKs
// do. Nil when neither is present or valid.
func RetryAfterSeconds(h http.Header, now time.Time) *float64 {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
			s := ms / 1000
			return &s
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return nil
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || math.IsInf(s, 0) || math.IsNaN(s) {
			return nil
		}
		return &s
	}
	if t, err := http.ParseTime(v); err == nil {
		s := max(0, t.Sub(now).Seconds())
		return &s
	}
	return nil
}
