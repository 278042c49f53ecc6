// Package prompts provides the prompts of a run: a built-in list of varied
// prompts, or a file with one prompt per line, made into exactly one distinct
// prompt per request.
package prompts

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// BuiltIn is the default list: short tasks of different kinds, so that the
// responses differ and no cache on the endpoint can answer two alike.
var BuiltIn = []string{
	"Explain in two sentences why the sky is blue.",
	"Write a haiku about a lighthouse in winter.",
	"Give three tips for writing readable Go code.",
	"What is the difference between a process and a thread?",
	"Summarize the plot of Romeo and Juliet in three sentences.",
	"List five fruits that are rich in vitamin C.",
	"Translate 'Good morning, how are you?' into French, Spanish and German.",
	"Describe how a bicycle gear system works, briefly.",
	"Suggest a name for a coffee shop run by robots, and explain it.",
	"What causes the seasons on Earth?",
	"Write a limerick about a cat who learns to code.",
	"Explain what an API rate limit is to a non-programmer.",
	"Give a one-paragraph history of the printing press.",
	"What are the main differences between TCP and UDP?",
	"Propose a simple weekly workout plan for a beginner.",
	"Explain recursion with an everyday example.",
	"Write a short product description for a solar-powered lantern.",
	"What is photosynthesis? Answer in plain words.",
	"Name three famous bridges and one fact about each.",
	"Describe the water cycle in four steps.",
	"Explain what a hash table is and when to use one.",
	"Write two lines of dialogue between a pirate and an astronaut.",
	"What should someone pack for a three-day hike?",
	"Explain the idea of supply and demand in simple terms.",
}

// ForRequests returns exactly n prompts, all different. It uses the base list
// in order; when n exceeds it, later rounds get a suffix that makes them
// distinct ("(variation 2)"). An empty base means BuiltIn.
func ForRequests(base []string, n int) []string {
	if len(base) == 0 {
		base = BuiltIn
	}
	out := make([]string, n)
	for i := range out {
		p := base[i%len(base)]
		if round := i / len(base); round > 0 {
			p = fmt.Sprintf("%s (variation %d)", p, round+1)
		}
		out[i] = p
	}
	return out
}

// ReadFile reads one prompt per line, skipping blank and repeated lines. An empty or
// missing file is an error, and so is a line that is not valid UTF-8 or holds
// a NUL byte (see Read).
func ReadFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the prompt file: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// MaxLineBytes bounds a line of a prompt file.
const MaxLineBytes = 1 << 20

// Read reads prompts from r, one per line, as ReadFile does; name names r in
// messages. A UTF-8 byte order mark at the start is skipped. A line that is
// not valid UTF-8, or that holds a NUL byte, is an error naming the line: two
// distinct lines could otherwise become the same prompt once an endpoint or a
// JSON encoder replaced their bad bytes, and a NUL ends a string in C.
func Read(r io.Reader, name string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLineBytes)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		if n == 1 {
			raw = strings.TrimPrefix(raw, "\uFEFF")
		}
		switch {
		case !utf8.ValidString(raw):
			return nil, fmt.Errorf("the prompt file %s, line %d, is not valid UTF-8: save the file as UTF-8", name, n)
		case strings.IndexByte(raw, 0) >= 0:
			return nil, fmt.Errorf("the prompt file %s, line %d, holds a NUL byte: a prompt file is text, one prompt per line", name, n)
		}
		if line := strings.TrimSpace(raw); line != "" && !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("cannot read the prompt file %s: a line is longer than %d KiB", name, MaxLineBytes>>10)
		}
		return nil, fmt.Errorf("cannot read the prompt file %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the prompt file %s has no prompts: write one prompt per line", name)
	}
	return out, nil
}
