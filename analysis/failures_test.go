package analysis

import (
	"slices"
	"strings"
	"testing"
)

// TestInconclusiveNamesOnlyWhatOccurred: the conclusion of a pass with too
// many failures names their kinds, and says nothing of HTTP 429 when no
// request got one.
func TestInconclusiveNamesOnlyWhatOccurred(t *testing.T) {
	timeouts := &PassSummary{Successful: 2, Failed: 8, ErrorKinds: map[string]int{"timeout": 6, "http_5xx": 2}}
	c := Conclude(timeouts, nil, nil, 10, 10)
	if c.Verdict != VerdictInconclusive || strings.Contains(c.Text, "429") || !strings.Contains(c.Text, "6 timeout, 2 http_5xx") {
		t.Errorf("timeouts and 5xx: %q", c.Text)
	}
	limited := &PassSummary{Successful: 2, Failed: 8, ErrorKinds: map[string]int{"rate_limited": 8}}
	if c := Conclude(limited, nil, nil, 10, 10); !strings.Contains(c.Text, "8 rate_limited (HTTP 429: a rate limit)") {
		t.Errorf("429s: %q", c.Text)
	}
	if c := Conclude(&PassSummary{Successful: 2, Failed: 8}, nil, nil, 10, 10); strings.Contains(c.Text, "429") {
		t.Errorf("no kinds: %q", c.Text)
	}
}

func TestByCount(t *testing.T) {
	got := ByCount(map[string]int{"timeout": 2, "http_5xx": 5, "other": 2, "rate_limited": 0})
	want := []string{"http_5xx", "other", "timeout", "rate_limited"}
	if !slices.Equal(got, want) {
		t.Errorf("ByCount = %v, want %v", got, want)
	}
}
