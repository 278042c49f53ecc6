package record

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanLine returns s as one line of printable text, as a record holds an
// endpoint's one-line text (an error, a header) and as a terminal shows it: invalid UTF-8 becomes
// U+FFFD, control characters (C0, DEL, C1, terminal escapes among them) and
// invisible format characters (zero-width spaces, bidirectional overrides)
// are dropped or, for white space, made a space; runs of spaces become one.
func CleanLine(s string) string {
	if isCleanLine(s) {
		return s
	}
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

// isCleanLine reports whether s is already what CleanLine returns.
func isCleanLine(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c < 0x20 || c == 0x7f {
			return false
		}
		if c == ' ' && prevSpace {
			return false
		}
		prevSpace = c == ' '
	}
	return !prevSpace || s == ""
}
