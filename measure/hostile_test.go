package measure_test

import (
	"net/http/httptest"
	"testing"

	"github.com/llmconc/llmconc/measure"
)

// hostileKey is a key an endpoint could echo.
const hostileKey = "sk-proj-Zq3xW9vL2mN8bT5yR1cK7hJ4gF6dS0aP"

// TestSafeLocation: a redirect's target is kept as scheme, host and path.
func TestSafeLocation(t *testing.T) {
	req := httptest.NewRequest("POST", "http://api.example:8080/v1/chat/completions", nil)
	for loc, want := range map[string]string{
		"":                                     "(none)",
		"/elsewhere?q=1#x":                     "http://api.example:8080/elsewhere",
		"https://u:p@evil.example:9/a/b?key=1": "https://evil.example:9/a/b",
		"::not a url":                          "(unparsable)",
	} {
		if got := measure.SafeLocation(req.URL, loc); got != want {
			t.Errorf("SafeLocation(%q) = %q, want %q", loc, got, want)
		}
	}
}

// TestRedactor covers the rules of Redactor directly.
func TestRedactor(t *testing.T) {
	r := measure.NewRedactor(hostileKey)
	for in, want := range map[string]string{
		"no key here":                            "no key here",
		"Bearer " + hostileKey:                   "Bearer " + measure.RedactedKey,
		"a " + hostileKey[3:11] + " b":           "a " + measure.RedactedKey + " b",
		"a " + hostileKey[3:10] + " b":           "a " + hostileKey[3:10] + " b", // 7 characters: not redacted
		hostileKey[:20] + hostileKey[17:]:        measure.RedactedKey + measure.RedactedKey,
		hostileKey + hostileKey:                  measure.RedactedKey + measure.RedactedKey,
		"x" + hostileKey[10:] + "y" + hostileKey: "x" + measure.RedactedKey + "y" + measure.RedactedKey,
	} {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := r.Line("cut here: Bearer "+hostileKey[:6], 0, true), "cut here: Bearer "+measure.RedactedKey; got != want {
		t.Errorf("a text cut after 6 characters of the key: got %q, want %q", got, want)
	}
	if got, want := r.Line("a\n\n  b\x1b[2Jc\u200bd", 0, false), "a b[2Jcd"; got != want {
		t.Errorf("Line: got %q, want %q", got, want)
	}
	short := measure.NewRedactor("test")
	if !short.IsShort() || r.IsShort() {
		t.Fatalf("IsShort: want true for a 4-character key, false for %d characters", len(hostileKey))
	}
	for in, want := range map[string]string{
		"testing a contest, tested; test-case": "testing a contest, tested; test-case",
		"key=test.":                            "key=" + measure.RedactedKey + ".",
		"test":                                 measure.RedactedKey,
		"Bearer test, and test":                "Bearer " + measure.RedactedKey + ", and " + measure.RedactedKey,
	} {
		if got := short.Redact(in); got != want {
			t.Errorf("short key: Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := measure.NewRedactor("").Redact("anything"); got != "anything" {
		t.Errorf("no key: Redact changed the text: %q", got)
	}
}

// TestResponseBound: the bound grows with max_tokens and saturates.
func TestResponseBound(t *testing.T) {
	if a, b := measure.ResponseBound(100, false), measure.ResponseBound(1000, false); a >= b || a < 256<<10 {
		t.Errorf("ResponseBound(100) = %d, ResponseBound(1000) = %d: want at least 256 KiB, growing", a, b)
	}
	if measure.ResponseBound(100, true) <= measure.ResponseBound(100, false) {
		t.Errorf("a streamed response's bound must allow for the chunks' envelopes")
	}
	if got := measure.ResponseBound(1<<62, true); got <= 0 {
		t.Errorf("ResponseBound overflows: %d", got)
	}
}

// TestCleanTextKeepsText: a response keeps its newlines, tabs, emoji
// sequences and zero-width non-joiners; it loses terminal escapes and
// bidirectional overrides.
func TestCleanTextKeepsText(t *testing.T) {
	in := "line 1\n\tline 2 👨\u200d👩\u200d👧 می\u200cخواهم\x1b[2J\u202egnp.exe\r\nend"
	want := "line 1\n\tline 2 👨\u200d👩\u200d👧 می\u200cخواهم[2Jgnp.exe\nend"
	if got := measure.CleanText(in); got != want {
		t.Errorf("CleanText = %q, want %q", got, want)
	}
}
