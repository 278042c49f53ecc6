package measure

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzKey is the key the fuzzed endpoint could echo.
const fuzzKey = "sk-fuzz-Q7wE9rT2yU4iO6pA8sD0fG1hJ3kL5zX"

// FuzzRateLimitHeaders: the x-ratelimit-* and Retry-After parsers never
// panic, give no negative, NaN or infinite wait, and cut what they keep.
func FuzzRateLimitHeaders(f *testing.F) {
	for _, s := range []string{"1", "1.5", "-3", "NaN", "+Inf", "1e309", "Wed, 21 Oct 2015 07:28:00 GMT", "999.0", "6m0s", "", " 7 ", "0x10", "9223372036854775808"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{}
		for _, name := range []string{headerLimitRequests, headerRemainingRequests, headerResetRequests, headerLimitTokens, headerRemainingTokens, headerResetTokens, "Retry-After"} {
			h.Set(name, a)
		}
		h.Set("Retry-After-Ms", b)
		if rl := RateLimitFrom(h); rl != nil && (len(rl.ResetRequests) > 64+len("…") || len(rl.ResetTokens) > 64+len("…")) {
			t.Fatalf("reset values not cut: %q %q", rl.ResetRequests, rl.ResetTokens)
		}
		for _, hh := range []http.Header{h, {"Retry-After": {a}}} {
			if s := RetryAfterSeconds(hh, time.Unix(1e9, 0)); s != nil && (*s < 0 || math.IsNaN(*s) || math.IsInf(*s, 0)) {
				t.Fatalf("Retry-After %q / %q gave %v", a, b, *s)
			}
		}
	})
}

// FuzzRedact: whatever the text, no piece of 8 or more of the key's
// characters survives Line or Text, even when the text was cut.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"Bearer " + fuzzKey, fuzzKey[:9] + "\n" + fuzzKey[9:], "x" + fuzzKey + fuzzKey[3:], "\x1b" + fuzzKey[:12], "plain text"} {
		f.Add(s)
	}
	r := NewRedactor(fuzzKey)
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{r.Line(s, 0, false), r.Line(s, MaxErrorLen, true), r.Text(s)} {
			for i := 0; i+MinKeyFragment <= len(fuzzKey); i++ {
				if strings.Contains(out, fuzzKey[i:i+MinKeyFragment]) {
					t.Fatalf("%q keeps %q of the key: %q", s, fuzzKey[i:i+MinKeyFragment], out)
				}
			}
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q", s)
			}
		}
	})
}
