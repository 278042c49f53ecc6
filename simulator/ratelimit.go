package simulator

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateLimiter is a fixed-window request counter. A window starts at the
// first request counted and lasts window; the first request after it ends
// starts a new one.
type rateLimiter struct {
	limit      int
	window     time.Duration
	tokenLimit int
	now        func() time.Time

	mu     sync.Mutex
	start  time.Time // zero: no window yet
	count  int       // requests accepted in the current window
	tokens int       // tokens used in the current window
}

// rateState is what the x-ratelimit-* headers report.
type rateState struct {
	limit           int
	remaining       int
	tokenLimit      int
	remainingTokens int
	reset           time.Duration // until the current window ends
}

// current rolls the window over if it has ended. Callers hold rl.mu.
func (rl *rateLimiter) current(now time.Time) {
	if !rl.start.IsZero() && now.Sub(rl.start) >= rl.window {
		rl.start = time.Time{}
		rl.count = 0
		rl.tokens = 0
	}
}

// state reports the limiter state at now. Callers hold rl.mu.
func (rl *rateLimiter) state(now time.Time) rateState {
	st := rateState{
		limit:           rl.limit,
		remaining:       max(rl.limit-rl.count, 0),
		tokenLimit:      rl.tokenLimit,
		remainingTokens: max(rl.tokenLimit-rl.tokens, 0),
		reset:           rl.window,
	}
	if !rl.start.IsZero() {
		st.reset = rl.start.Add(rl.window).Sub(now)
	}
	return st
}

// peek reports the state without counting a request.
func (rl *rateLimiter) peek() rateState {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := rl.now()
	rl.current(now)
	return rl.state(now)
}

// take counts one request using tokens tokens if the limit allows it and
// reports the resulting state; ok is false when the request is over the
// limit (it is then not counted).
func (rl *rateLimiter) take(tokens int) (st rateState, ok bool) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := rl.now()
	rl.current(now)
	if rl.count >= rl.limit {
		return rl.state(now), false
	}
	if rl.start.IsZero() {
		rl.start = now
	}
	rl.count++
	rl.tokens += tokens
	return rl.state(now), true
}

// setHeaders writes OpenAI's x-ratelimit-* headers for st.
func (st rateState) setHeaders(h http.Header) {
	h.Set("x-ratelimit-limit-requests", strconv.Itoa(st.limit))
	h.Set("x-ratelimit-remaining-requests", strconv.Itoa(st.remaining))
	h.Set("x-ratelimit-reset-requests", formatReset(st.reset))
	h.Set("x-ratelimit-limit-tokens", strconv.Itoa(st.tokenLimit))
	h.Set("x-ratelimit-remaining-tokens", strconv.Itoa(st.remainingTokens))
	h.Set("x-ratelimit-reset-tokens", formatReset(st.reset))
}

// retryAfterSeconds is the Retry-After value for st: the time until the
// window resets, rounded up to whole seconds, at least 1.
func (st rateState) retryAfterSeconds() int {
	secs := int((st.reset + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// formatReset formats d the way OpenAI's x-ratelimit-reset-* headers do
// ("1s", "59.5s", "6m0s", "20ms"): a Go duration string, rounded to
// milliseconds.
func formatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d.Round(time.Millisecond).String()
}
