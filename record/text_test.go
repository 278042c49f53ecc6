package record_test

import (
	"testing"

	"github.com/llmconc/llmconc/record"
)

// TestCleanLine: one line of printable text, as records hold an endpoint's
// one-line text and the terminal shows it.
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
		if got := record.CleanLine(in); got != want {
			t.Errorf("CleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}
