package measure

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/llmconc/llmconc/record"
)

// Redaction. Every string of a record that an endpoint sent (the error, the
// response, the model, the rate-limit values) goes through Redactor before it
// leaves the worker, in this order: normalise (valid UTF-8, no control or
// invisible format characters, and for one-line fields white space collapsed),
// redact, and only then cut to length. Cutting first would let a key cut in
// two escape; normalising first keeps an echo padded with newlines or
// control characters from hiding the key's pieces.
//
// What is redacted:
//   - a key of at least ShortKeyLen characters, wherever it appears, and
//     every piece of it of at least MinKeyFragment characters (an echo cut
//     by a proxy, split over lines or chunks, still loses its pieces);
//   - a shorter key (such as the simulator's "test") only where it stands
//     as a whole token, never inside a word: a short key's pieces are
//     ordinary words, and redacting them would corrupt the responses.
//
// Redaction is against echoes (a proxy or server that repeats the
// Authorization header). An endpoint holds the key anyway; one that wants to
// smuggle it into its answers encoded (base64, reversed, one character per
// chunk) can: see docs/security.md.

// RedactedKey replaces the key, or a piece of it, in a record.
const RedactedKey = "[redacted API key]"

// MinKeyFragment is the shortest piece of a key that is redacted on its own.
const MinKeyFragment = 8

// ShortKeyLen is the length under which a key is redacted only as a whole
// token (the worker warns about such a key at start-up).
const ShortKeyLen = 20

// Redactor removes one key, and its pieces, from text. The zero value and a
// nil *Redactor redact nothing.
type Redactor struct {
	key   string
	short bool
	// grams maps every MinKeyFragment-byte piece of key to where it starts.
	grams map[string][]int
	// inKey marks the bytes that occur in key: a quick reject.
	inKey [256]bool
}

// NewRedactor returns a Redactor for key ("" redacts nothing).
func NewRedactor(key string) *Redactor {
	r := &Redactor{key: key}
	if key == "" {
		return r
	}
	if len(key) < ShortKeyLen {
		r.short = true
		return r
	}
	r.grams = make(map[string][]int, len(key))
	for i := 0; i+MinKeyFragment <= len(key); i++ {
		g := key[i : i+MinKeyFragment]
		r.grams[g] = append(r.grams[g], i)
	}
	for i := 0; i < len(key); i++ {
		r.inKey[key[i]] = true
	}
	return r
}

// IsShort reports whether the key is shorter than ShortKeyLen, and so
// redacted only as a whole token.
func (r *Redactor) IsShort() bool { return r != nil && r.short }

// Redact returns s with the key, and every piece of it of MinKeyFragment
// bytes or more, replaced by RedactedKey (a short key: only where it stands
// as a whole token). It does not normalise s: see Line and Text.
func (r *Redactor) Redact(s string) string {
	return r.redact(s, false)
}

// redact is Redact; cutEnd says that s was cut at its end (a bound on what
// was read), so that a key may begin there and be cut after fewer than
// MinKeyFragment bytes: a trailing piece of the key of 4 bytes or more is
// redacted too.
func (r *Redactor) redact(s string, cutEnd bool) string {
	if r == nil || r.key == "" || s == "" {
		return s
	}
	if r.short {
		return r.redactToken(s)
	}
	var b strings.Builder
	last := 0 // s[:last] is written
	for i := 0; i+MinKeyFragment <= len(s); {
		n := r.matchAt(s, i)
		if n == 0 {
			i++
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(RedactedKey)
		i += n
		last = i
	}
	rest := s[last:]
	if cutEnd {
		// The longest tail of rest that is a piece of the key, if 4 bytes
		// or more (3 bytes such as "sk-" are common text).
		for n := min(len(rest), MinKeyFragment-1); n >= 4; n-- {
			if strings.Contains(r.key, rest[len(rest)-n:]) {
				b.WriteString(rest[:len(rest)-n])
				b.WriteString(RedactedKey)
				return b.String()
			}
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// matchAt returns the length of the longest piece of the key (at least
// MinKeyFragment bytes) that starts at s[i], or 0.
func (r *Redactor) matchAt(s string, i int) int {
	for j := i; j < i+MinKeyFragment; j++ {
		if !r.inKey[s[j]] {
			return 0
		}
	}
	best := 0
	for _, off := range r.grams[s[i:i+MinKeyFragment]] {
		n := MinKeyFragment
		for i+n < len(s) && off+n < len(r.key) && s[i+n] == r.key[off+n] {
			n++
		}
		best = max(best, n)
	}
	return best
}

// redactToken replaces the (short) key where it stands as a whole token:
// neither the byte before nor the one after is part of a word.
func (r *Redactor) redactToken(s string) string {
	if !strings.Contains(s, r.key) {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i <= len(s)-len(r.key); {
		j := strings.Index(s[i:], r.key)
		if j < 0 {
			break
		}
		start, end := i+j, i+j+len(r.key)
		if !wordBefore(s, start) && !wordAfter(s, end) {
			b.WriteString(s[last:start])
			b.WriteString(RedactedKey)
			last = end
			i = end
			continue
		}
		i = start + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isWordRune reports whether c continues a word (or a key): letters,
// digits, '_' and '-'.
func isWordRune(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '-'
}

func wordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	c, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(c)
}

func wordAfter(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(c)
}

// Line makes s safe for a one-line field of a record or a terminal:
// normalised (valid UTF-8; control and invisible format characters
// dropped; white space runs made one space), redacted, then cut to at most
// n bytes (0: not cut). cutEnd says s itself was cut (see redact).
func (r *Redactor) Line(s string, n int, cutEnd bool) string {
	s = r.redact(record.CleanLine(s), cutEnd)
	if n > 0 && len(s) > n+len("…") {
		// (A text cut before, ellipsis included, is not cut again.)
		s = Truncate(s, n)
	}
	return s
}

// Text makes a multi-line text (a response) safe for a record: see
// CleanText, then redacted. Nothing is cut.
func (r *Redactor) Text(s string) string {
	return r.Redact(CleanText(s))
}

// CleanText returns s with invalid UTF-8 made U+FFFD and control characters
// (terminal escapes among them) and bidirectional overrides dropped, except
// newlines and tabs (a carriage return before a newline is dropped, one
// alone becomes a newline). Other format characters, such as the zero-width
// joiners of emoji sequences, are text and stay.
func CleanText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i, c := range s {
		switch {
		case c == '\n' || c == '\t':
		case c == '\r':
			if !strings.HasPrefix(s[i+1:], "\n") {
				b.WriteByte('\n')
			}
			continue
		case unicode.IsControl(c) || isBidiControl(c):
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// isBidiControl reports whether c overrides the direction of the text
// around it (U+202A–U+202E, U+2066–U+2069), which can make a text read
// differently from what it holds.
func isBidiControl(c rune) bool {
	return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)
}

// MaxErrorLen caps a record's error text, which keeps a run's result size
// predictable.
const MaxErrorLen = 300

// maxModelLen and maxResetLen cut the record's model and rate-limit reset
// values, which an endpoint chooses.
const (
	maxModelLen = 200
	maxResetLen = 64
)

// Sanitize makes every string of rec that an endpoint sent safe for the
// record: see Redactor. The prompt is ours; it is left as it is.
func (r *Redactor) Sanitize(rec *record.Request) {
	rec.Error = r.Line(rec.Error, MaxErrorLen, false)
	rec.Response = r.Text(rec.Response)
	rec.Model = r.Line(rec.Model, maxModelLen, false)
	if rl := rec.RateLimit; rl != nil {
		rl.ResetRequests = r.Line(rl.ResetRequests, maxResetLen, false)
		rl.ResetTokens = r.Line(rl.ResetTokens, maxResetLen, false)
	}
	for i := range rec.Attempts {
		rec.Attempts[i].Error = r.Line(rec.Attempts[i].Error, MaxErrorLen, false)
	}
}

// Truncate shortens s to at most n bytes, on a character boundary, marking
// the cut with an ellipsis.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
