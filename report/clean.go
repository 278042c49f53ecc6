package report

import (
	"unicode/utf8"

	"github.com/llmconc/llmconc/record"
)

// oneLine is an endpoint's text as one clean line of at most 160 bytes.
func oneLine(s string) string {
	s = record.CleanLine(s)
	if len(s) > 160 {
		cut := 160
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
