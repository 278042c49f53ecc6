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
