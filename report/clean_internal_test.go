package report

import (
	"strings"
	"testing"
)

// TestTextStripsControlCharacters: an endpoint's error text reaches the
// terminal without its control characters (terminal escapes included).
func TestTextStripsControlCharacters(t *testing.T) {
	if got := oneLine("HTTP 500: \x1b]0;owned\x07bad\x1b[2J\r\nnews"); strings.ContainsAny(got, "\x1b\x07\r\n") {
		t.Errorf("oneLine kept control characters: %q", got)
	}
	if got := orDash("1s\x1b[31m"); strings.ContainsRune(got, 0x1b) {
		t.Errorf("orDash kept an escape: %q", got)
	}
}

// TestCleanLine: one line of printable text, as the measuring side cleans a
// record's one-line fields.
func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"plain text":                 "plain text",
		"  lead and trail  ":         "lead and trail",
		"a\r\n\tb   c":               "a b c",
		"zero\u200bwidth \u202eover": "zerowidth over",
		"bad \xff utf8":              "bad \uFFFD utf8",
		"esc\x1b[31mred\x1b[0m\x7f":  "esc[31mred[0m",
		"c1\u0085next \u009bcsi":     "c1 next csi",
		"emoji 👍 stays, é too":       "emoji 👍 stays, é too",
	} {
		if got := cleanLine(in); got != want {
			t.Errorf("cleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}
