package report

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// cleanLine returns s as one line of printable text, for the terminal: an
// endpoint's text (an error, a rate-limit header) from a record of any
// worker, old ones included, must not bring its control characters there.
// Invalid UTF-8 becomes U+FFFD, control characters (C0, DEL, C1, terminal
// escapes among them) and invisible format characters (zero-width spaces,
// bidirectional overrides) are dropped or, for white space, made a space;
// runs of spaces become one. It is what the measuring side does to a
// record's one-line fields, kept here so that presenting does not depend on
// measuring.
func cleanLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, c := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(c):
			space = b.Len() > 0
			continue
		case unicode.IsControl(c) || unicode.Is(unicode.Cf, c):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(c)
	}
	return b.String()
}

// oneLine is an endpoint's text as one clean line of at most 160 bytes.
func oneLine(s string) string {
	s = cleanLine(s)
	if len(s) > 160 {
		cut := 160
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
