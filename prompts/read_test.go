package prompts_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmconc/llmconc/prompts"
)

// TestReadRefusesBinary: a line that is not valid UTF-8, or holds a NUL,
// is refused with its line number; two lines that differ only in bad bytes
// would otherwise become one prompt.
func TestReadRefusesBinary(t *testing.T) {
	for name, content := range map[string]string{
		"invalid UTF-8": "fine\nbad \xff byte\n",
		"NUL":           "fine\nnul\x00here\n",
		"Latin-1":       "caf\xe9\n",
	} {
		_, err := prompts.Read(strings.NewReader(content), "p.txt")
		if err == nil || !strings.Contains(err.Error(), "p.txt, line") {
			t.Errorf("%s: got %v, want an error naming the line", name, err)
		}
	}
	got, err := prompts.Read(strings.NewReader("\uFEFFfirst\r\nsecond ünïcode\n"), "p.txt")
	if err != nil || len(got) != 2 || got[0] != "first" || got[1] != "second ünïcode" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// FuzzRead: whatever the file, Read returns an error or prompts that are
// valid UTF-8, without NUL, trimmed, distinct and not empty.
func FuzzRead(f *testing.F) {
	for _, s := range []string{"a\nb\n", "\uFEFFx\r\n\r\ny", "a\x00b", "\xff", "  \n\t\n", "same\nsame\n", strings.Repeat("x", 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := prompts.Read(strings.NewReader(string(data)), "fuzz")
		if err != nil {
			if len(got) != 0 {
				t.Fatalf("prompts and an error")
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("no prompts and no error")
		}
		seen := map[string]bool{}
		for _, p := range got {
			if p == "" || p != strings.TrimSpace(p) || !utf8.ValidString(p) || strings.ContainsRune(p, 0) || seen[p] {
				t.Fatalf("bad prompt %q", p)
			}
			seen[p] = true
		}
	})
}
