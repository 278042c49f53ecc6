package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit, requests, want int
	}{
		{limit: 1, requests: 4, want: 1},
		{limit: 3, requests: 6, want: 3},
		{limit: 0, requests: 5, want: 5},
	} {
		t.Run(fmt.Sprintf("limit=%d/requests=%d", tc.limit, tc.requests), func(t *testing.T) {
			t.Parallel()
			// The barrier makes the first `want` admitted requests overlap
			// even on a slow machine; the latency keeps them in flight
			// while the others arrive.
			sim, baseURL := startTest(t, Config{Latency: 100 * time.Millisecond, OutputTokens: 3, MaxConcurrent: tc.limit},
				func(s *Server) { s.onAdmit = barrier(tc.want) })
			client := newClient(t, baseURL, "")
			errs := make(chan error, tc.requests)
			var wg sync.WaitGroup
			for i := range tc.requests {
				wg.Go(func() {
					_, err := client.CreateChatCompletion(context.Background(), userRequest(fmt.Sprintf("request %d", i)))
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			st := sim.Stats()
			if st.MaxInFlight != tc.want {
				t.Errorf("MaxInFlight = %d, want %d", st.MaxInFlight, tc.want)
			}
			if st.Requests != tc.requests || st.StatusCounts[200] != tc.requests {
				t.Errorf("Stats = %+v, want %d requests all answered 200", st, tc.requests)
			}
		})
	}
}

func TestGateFIFO(t *testing.T) {
	t.Parallel()
	g := &gate{limit: 1}
	first := g.join()
	if !first.granted() {
		t.Fatal("first ticket not granted on an empty gate")
	}
	tickets := []*ticket{g.join(), g.join(), g.join(), g.join()}
	for i, tk := range tickets {
		if tk.granted() {
			t.Fatalf("ticket %d granted while the slot is taken", i)
		}
	}

	// Ticket 1 gives up while queued: it must leave the queue.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tickets[1].wait(ctx, nil); err != context.Canceled {
		t.Fatalf("cancelled wait = %v, want context.Canceled", err)
	}

	granted := make(chan int, len(tickets))
	for _, i := range []int{3, 0, 2} { // start the waiters out of order
		go func() {
			if err := tickets[i].wait(context.Background(), nil); err == nil {
				granted <- i
			}
		}()
	}
	var order []int
	for range 3 {
		g.release()
		order = append(order, <-granted)
	}
	if want := []int{0, 2, 3}; !slices.Equal(order, want) {
		t.Errorf("grant order = %v, want %v (FIFO, skipping the cancelled ticket)", order, want)
	}
	g.release()
	if inUse, queued, maxInUse := g.snapshot(); inUse != 0 || queued != 0 || maxInUse != 1 {
		t.Errorf("after all releases: inUse %d queued %d max %d, want 0 0 1", inUse, queued, maxInUse)
	}
}

func TestGateAbortAfterGrant(t *testing.T) {
	t.Parallel()
	// A ticket whose slot is handed over just as its wait is aborted must
	// pass the slot on rather than leak it.
	g := &gate{limit: 1}
	g.join()
	tk := g.join()
	g.release() // hands the slot to tk
	abort := make(chan struct{})
	close(abort)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Both ready and the aborts are ready; whichever select picks, the
	// ticket must end up either holding the slot (nil) or having returned it.
	if err := tk.wait(ctx, abort); err == nil {
		g.release()
	}
	if inUse, queued, _ := g.snapshot(); inUse != 0 || queued != 0 {
		t.Errorf("inUse %d queued %d, want 0 0", inUse, queued)
	}
}

var rateHeaders = []string{
	"x-ratelimit-limit-requests",
	"x-ratelimit-remaining-requests",
	"x-ratelimit-reset-requests",
	"x-ratelimit-limit-tokens",
	"x-ratelimit-remaining-tokens",
	"x-ratelimit-reset-tokens",
}

func checkRateHeaders(t *testing.T, h http.Header, limit int) {
	t.Helper()
	for _, k := range rateHeaders {
		if h.Get(k) == "" {
			t.Errorf("missing header %s", k)
		}
	}
	if got := h.Get("x-ratelimit-limit-requests"); got != strconv.Itoa(limit) {
		t.Errorf("x-ratelimit-limit-requests = %q, want %d", got, limit)
	}
	if got := h.Get("x-ratelimit-limit-tokens"); got != strconv.Itoa(DefaultTokenLimit) {
		t.Errorf("x-ratelimit-limit-tokens = %q, want %d", got, DefaultTokenLimit)
	}
	for _, k := range []string{"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"} {
		d, err := time.ParseDuration(h.Get(k))
		if err != nil || d <= 0 || d > time.Minute {
			t.Errorf("%s = %q, want a duration in (0, 1m]", k, h.Get(k))
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	sim, baseURL := startTest(t, Config{RateLimit: 5, OutputTokens: 3, Latency: 10 * time.Millisecond})
	c := httpClient(t)
	const n = 12
	results := make([]rawResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			results[i], err = try(c, http.MethodPost, baseURL+"/chat/completions", "",
				fmt.Sprintf(`{"model":"sim-model","messages":[{"role":"user","content":"request %d"}]}`, i))
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	var remaining []int
	limited := 0
	for _, r := range results {
		checkRateHeaders(t, r.header, 5)
		switch r.status {
		case http.StatusOK:
			rem, err := strconv.Atoi(r.header.Get("x-ratelimit-remaining-requests"))
			if err != nil {
				t.Errorf("x-ratelimit-remaining-requests: %v", err)
			}
			remaining = append(remaining, rem)
			if r.header.Get("Retry-After") != "" {
				t.Error("a 200 response carries Retry-After")
			}
		case http.StatusTooManyRequests:
			limited++
			decodeError(t, r, http.StatusTooManyRequests, "requests", "rate_limit_exceeded")
			secs, err := strconv.Atoi(r.header.Get("Retry-After"))
			if err != nil || secs < 1 || secs > 60 {
				t.Errorf("Retry-After = %q, want whole seconds in [1, 60]", r.header.Get("Retry-After"))
			}
			if got := r.header.Get("x-ratelimit-remaining-requests"); got != "0" {
				t.Errorf("429 x-ratelimit-remaining-requests = %q, want 0", got)
			}
		default:
			t.Errorf("unexpected status %d: %s", r.status, r.body)
		}
	}
	if limited != n-5 {
		t.Errorf("%d responses were 429, want %d", limited, n-5)
	}
	slices.Sort(remaining)
	if want := []int{0, 1, 2, 3, 4}; !slices.Equal(remaining, want) {
		t.Errorf("remaining-requests over the successes = %v, want %v", remaining, want)
	}
	if st := sim.Stats(); st.StatusCounts[200] != 5 || st.StatusCounts[429] != 7 || st.Requests != n {
		t.Errorf("Stats = %+v", st)
	}

	// Errors after the auth check carry the headers without counting.
	bad := do(t, c, http.MethodPost, baseURL+"/chat/completions", "", "{")
	decodeError(t, bad, http.StatusBadRequest, "invalid_request_error", "invalid_json")
	checkRateHeaders(t, bad.header, 5)
	if got := bad.header.Get("x-ratelimit-remaining-requests"); got != "0" {
		t.Errorf("400 x-ratelimit-remaining-requests = %q, want 0", got)
	}
}

func TestRateLimitNoHeadersWhenDisabled(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{OutputTokens: 1})
	r := do(t, httpClient(t), http.MethodPost, baseURL+"/chat/completions", "", chatBody)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	for _, k := range rateHeaders {
		if v := r.header.Get(k); v != "" {
			t.Errorf("RateLimit=0 but %s = %q", k, v)
		}
	}
}

func TestRateLimitHeadersNotOn401(t *testing.T) {
	t.Parallel()
	_, baseURL := startTest(t, Config{RateLimit: 5, APIKey: "sk-right"})
	r := do(t, httpClient(t), http.MethodPost, baseURL+"/chat/completions", "sk-wrong", chatBody)
	decodeError(t, r, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key")
	if v := r.header.Get("x-ratelimit-limit-requests"); v != "" {
		t.Errorf("401 carries x-ratelimit-limit-requests = %q", v)
	}
}

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRateLimitWindow(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	_, baseURL := startTest(t, Config{RateLimit: 2, RateWindow: time.Minute, OutputTokens: 10},
		func(s *Server) { s.rl.now = clock.Now })
	c := httpClient(t)
	post := func() rawResponse {
		return do(t, c, http.MethodPost, baseURL+"/chat/completions", "", chatBody)
	}
	// chatBody: 1 word + 3 per message + 3 = 7 prompt tokens, 10 completion.
	const perRequest = 7 + 10

	for i := range 2 {
		r := post()
		if r.status != http.StatusOK {
			t.Fatalf("request %d: status %d", i, r.status)
		}
		if got, want := r.header.Get("x-ratelimit-remaining-tokens"), strconv.Itoa(DefaultTokenLimit-(i+1)*perRequest); got != want {
			t.Errorf("request %d: remaining tokens %s, want %s", i, got, want)
		}
		if got := r.header.Get("x-ratelimit-reset-requests"); got != "1m0s" {
			t.Errorf("request %d: reset %q, want 1m0s (frozen clock)", i, got)
		}
	}
	r := post()
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "60" {
		t.Fatalf("3rd request: status %d Retry-After %q, want 429 60", r.status, r.header.Get("Retry-After"))
	}

	clock.Advance(30*time.Second + 500*time.Millisecond)
	r = post()
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "30" || r.header.Get("x-ratelimit-reset-requests") != "29.5s" {
		t.Fatalf("after 30.5s: status %d Retry-After %q reset %q, want 429 30 29.5s",
			r.status, r.header.Get("Retry-After"), r.header.Get("x-ratelimit-reset-requests"))
	}

	clock.Advance(30 * time.Second) // the window has ended
	r = post()
	if r.status != http.StatusOK || r.header.Get("x-ratelimit-remaining-requests") != "1" {
		t.Fatalf("new window: status %d remaining %q, want 200 1", r.status, r.header.Get("x-ratelimit-remaining-requests"))
	}
	var body struct {
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Usage.TotalTokens != perRequest {
		t.Errorf("usage total_tokens = %d (%v), want %d", body.Usage.TotalTokens, err, perRequest)
	}
}

func TestFormatReset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{-time.Second, "0s"},
		{time.Second, "1s"},
		{59500 * time.Millisecond, "59.5s"},
		{6 * time.Minute, "6m0s"},
		{20 * time.Millisecond, "20ms"},
		{1234567 * time.Microsecond, "1.235s"},
	} {
		if got := formatReset(tc.d); got != tc.want {
			t.Errorf("formatReset(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	for _, tc := range []struct {
		reset time.Duration
		want  int
	}{
		{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {time.Minute, 60},
	} {
		if got := (rateState{reset: tc.reset}).retryAfterSeconds(); got != tc.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", tc.reset, got, tc.want)
		}
	}
}
