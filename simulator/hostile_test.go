package simulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func hostileBody(prompt string, stream bool) string {
	b, _ := json.Marshal(map[string]any{
		"model": "sim-model", "stream": stream, "max_tokens": 5,
		"messages": []any{map[string]any{"role": "user", "content": prompt}},
	})
	return string(b)
}

// TestHostileFaults: each hostile marker gives its answer.
func TestHostileFaults(t *testing.T) {
	_, base := startTest(t, Config{Models: []string{"sim-model"}, Faults: Faults{HugeBody: 1 << 20, IgnoreMaxTokensBytes: 10 << 10}})
	c := &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := base + "/chat/completions"

	r := do(t, c, "POST", url, "", hostileBody("[fault:redirect] hi", false))
	if loc := r.header.Get("Location"); r.status != http.StatusTemporaryRedirect || !strings.HasSuffix(loc, ":1/v1/chat/completions") {
		t.Errorf("redirect: status %d Location %q", r.status, loc)
	}
	r = do(t, c, "POST", url, "", hostileBody("[fault:huge-error] hi", false))
	if r.status != 500 || len(r.body) < 1<<20 {
		t.Errorf("huge-error: status %d, %d bytes", r.status, len(r.body))
	}
	for _, stream := range []bool{false, true} {
		r = do(t, c, "POST", url, "", hostileBody("[fault:huge-body] hi", stream))
		if r.status != 200 || len(r.body) < 1<<20 || strings.Contains(string(r.body), "\n") {
			t.Errorf("huge-body stream=%v: status %d, %d bytes", stream, r.status, len(r.body))
		}
		r = do(t, c, "POST", url, "", hostileBody("[fault:ignore-max-tokens] hi", stream))
		if r.status != 200 || len(r.body) < 10<<10 {
			t.Errorf("ignore-max-tokens stream=%v: status %d, %d bytes", stream, r.status, len(r.body))
		}
	}
}
