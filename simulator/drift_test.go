package simulator

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDriftFactor(t *testing.T) {
	ramp := Drift{Mode: DriftRamp, Factor: 3, After: 10 * time.Second, For: 20 * time.Second}
	step := Drift{Mode: DriftStep, Factor: 0.25, After: 5 * time.Second, For: 10 * time.Second}
	forGood := Drift{Mode: DriftStep, Factor: 4}
	for _, tc := range []struct {
		d       Drift
		elapsed time.Duration
		want    float64
	}{
		{Drift{}, time.Hour, 1},
		{ramp, 0, 1},
		{ramp, 10 * time.Second, 1},
		{ramp, 20 * time.Second, 2},
		{ramp, 30 * time.Second, 3},
		{ramp, time.Hour, 3},
		{step, 4 * time.Second, 1},
		{step, 5 * time.Second, 0.25},
		{step, 14 * time.Second, 0.25},
		{step, 15 * time.Second, 1},
		{forGood, 0, 4},
		{forGood, time.Hour, 4},
	} {
		if got := tc.d.factor(tc.elapsed); got != tc.want {
			t.Errorf("%+v at %v: factor %v, want %v", tc.d, tc.elapsed, got, tc.want)
		}
	}
}

func TestDriftValidate(t *testing.T) {
	for _, d := range []Drift{{Mode: "sideways", Factor: 2}, {Mode: DriftRamp}, {Mode: DriftStep, Factor: -1}, {Mode: DriftRamp, Factor: 2, For: -time.Second}} {
		if err := (Config{Drift: d}).Validate(); err == nil || !strings.Contains(err.Error(), "-drift") {
			t.Errorf("%+v: want an error naming the -drift flags, got %v", d, err)
		}
		if got := (Config{Drift: d}).withDefaults().Drift; got != (Drift{}) {
			t.Errorf("%+v: New must turn an invalid drift off, got %+v", d, got)
		}
	}
	if err := (Config{Drift: Drift{Mode: DriftRamp, Factor: 2, For: time.Minute}}).Validate(); err != nil {
		t.Error(err)
	}
}

// The clock starts at the first request and the factor follows it.
func TestDriftClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &driftClock{d: Drift{Mode: DriftRamp, Factor: 2, For: time.Minute}, now: func() time.Time { return now }}
	if f := c.scale(); f != 1 {
		t.Errorf("first request: %v", f)
	}
	now = now.Add(30 * time.Second)
	if f := c.scale(); f != 1.5 {
		t.Errorf("after 30 s of a one-minute doubling: %v", f)
	}
}

// A drifting server's streamed answer is slower by the factor: its time to
// the first chunk and its gaps between chunks.
func TestDriftScalesAStream(t *testing.T) {
	cfg := Config{TTFT: 20 * time.Millisecond, PerToken: 10 * time.Millisecond, OutputTokens: 6, Seed: 1,
		Drift: Drift{Mode: DriftStep, Factor: 5}}
	_, base := startTest(t, cfg)
	c := newClient(t, base, "")
	start := time.Now()
	st, err := c.CreateChatCompletionStream(context.Background(), userRequest("drift"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		if _, err := st.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// undrifted: 20 ms + 5 × 10 ms = 70 ms; drifted ×5: 350 ms
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("the drifted stream took %v, want at least 350ms", d)
	}
}

// Serial and streaming: with MaxConcurrent 1, the streams of requests sent
// together never generate at the same time: each one's first chunk comes
// after the previous one's last. The times are taken by the client, so the
// first chunk's wait (TTFT) is long enough that a client goroutine delayed by
// a busy machine cannot make two streams seem to overlap.
func TestSerialStreamsDoNotOverlap(t *testing.T) {
	cfg := Config{TTFT: 100 * time.Millisecond, PerToken: 5 * time.Millisecond, OutputTokens: 8, MaxConcurrent: 1, Seed: 1}
	_, base := startTest(t, cfg)
	c := newClient(t, base, "")
	type span struct{ first, last time.Time }
	spans := make([]span, 4)
	var wg sync.WaitGroup
	for i := range spans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := userRequest("serial " + strings.Repeat("x", i))
			req.Stream = true
			st, err := c.CreateChatCompletionStream(context.Background(), req)
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			for {
				resp, err := st.Recv()
				if err != nil {
					return
				}
				if len(resp.Choices) > 0 && resp.Choices[0].Delta.Content != "" {
					now := time.Now()
					if spans[i].first.IsZero() {
						spans[i].first = now
					}
					spans[i].last = now
				}
			}
		}()
	}
	wg.Wait()
	for i := range spans {
		for j := range spans {
			a, b := spans[i], spans[j]
			if i != j && a.first.Before(b.first) && b.first.Before(a.last) {
				t.Errorf("stream %d started generating (%v) before stream %d had finished (%v)", j, b.first.Sub(a.first), i, a.last.Sub(a.first))
			}
		}
	}
}

// NoStream: a streamed request gets one JSON body, not an event stream.
func TestNoStream(t *testing.T) {
	_, base := startTest(t, Config{Latency: time.Millisecond, NoStream: true, Seed: 1})
	r := do(t, httpClient(t), "POST", base+"/chat/completions", "",
		`{"model":"sim-model","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || !strings.Contains(string(r.body), `"chat.completion"`) {
		t.Errorf("want a plain chat completion, got %d %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
}
