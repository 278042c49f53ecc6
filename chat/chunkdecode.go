package chat

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeChunk decodes one chunk of a stream into c, as json.Unmarshal
// does. Chunks are decoded one per token, and json.Unmarshal (a whole scan
// to validate, then a decode through reflection) was the worker's largest
// cost per request once its connections were open (bench/README.md).
//
// So a chunk in the shape servers send is read in one pass by
// fastChunk, which gives up on anything it is not sure to read as
// json.Unmarshal would (escapes in a key, a key matching a field only
// case-insensitively, a key twice, a number that is not a plain integer,
// a string that is not plain valid UTF-8 or whose escapes it does not
// know, any type it does not expect, anything after the object);
// json.Unmarshal then decodes the chunk from the start, and its result and
// error are the result. FuzzDecodeChunk holds the two to the same result.
func decodeChunk(raw []byte, c *streamChunk) error {
	var fast streamChunk
	if fastChunk(raw, &fast) {
		*c = fast
		return nil
	}
	*c = streamChunk{}
	return json.Unmarshal(raw, c)
}

// fastChunk reads raw into c and reports whether it could.
func fastChunk(raw []byte, c *streamChunk) bool {
	p := chunkParser{b: raw}
	seen := 0
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "model":
			return p.once(&seen, 1) && p.str(&c.Model)
		case "choices":
			return p.once(&seen, 2) && p.choices(&c.Choices)
		case "usage":
			return p.once(&seen, 4) && p.usage(&c.Usage)
		}
		return p.other(key)
	})
	p.space()
	return ok && p.i == len(p.b)
}

// chunkParser reads one JSON value after another from b, from i on.
type chunkParser struct {
	b []byte
	i int
}

// once reports whether the bit of a field is not set in *seen yet, and
// sets it: a key twice is left to json.Unmarshal.
func (p *chunkParser) once(seen *int, bit int) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

func (p *chunkParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is ch, and
// then consumes it.
func (p *chunkParser) next(ch byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ch {
		p.i++
		return true
	}
	return false
}

// object reads an object, calling field for each key with the parser at
// its value; field reads the value.
func (p *chunkParser) object(field func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		key, ok := p.plain()
		if !ok || !p.next(':') || !field(key) {
			return false
		}
		if p.next('}') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

// plain reads a string without escapes, of printable ASCII or valid UTF-8,
// and returns its bytes (which are its value).
func (p *chunkParser) plain() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	for p.i < len(p.b) {
		ch := p.b[p.i]
		switch {
		case ch == '"':
			s := p.b[start:p.i]
			p.i++
			return s, ascii || utf8.Valid(s)
		case ch == '\\' || ch < 0x20:
			return nil, false
		case ch >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return nil, false
}

// null reads a null, if that is what comes next.
func (p *chunkParser) null() bool {
	p.space()
	return p.literal("null")
}

// literal reads lit, if that is what comes next.
func (p *chunkParser) literal(lit string) bool {
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// str reads a string (or null, which leaves *s as it is).
func (p *chunkParser) str(s *string) bool {
	if p.null() {
		return true
	}
	v, ok := p.plain()
	if ok {
		*s = string(v)
	}
	return ok
}

// integer reads a plain integer (or null) of at most 18 digits that fits
// an int.
func (p *chunkParser) integer(n *int) bool {
	if p.null() {
		return true
	}
	p.space()
	neg := p.i < len(p.b) && p.b[p.i] == '-'
	if neg {
		p.i++
	}
	start, v := p.i, int64(0)
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' && p.i-start < 18 {
		v = v*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	if int64(int(v)) != v {
		return false
	}
	digits := p.i - start
	if digits == 0 || (digits > 1 && p.b[start] == '0') || (p.i < len(p.b) && (p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E')) {
		return false
	}
	if neg {
		v = -v
	}
	*n = int(v)
	return true
}

// choices reads the array of choices (or null).
func (p *chunkParser) choices(cs *[]chunkChoice) bool {
	if p.null() {
		*cs = nil
		return true
	}
	*cs = make([]chunkChoice, 0, 1)
	return p.array(func() bool {
		var ch chunkChoice
		if !p.choice(&ch) {
			return false
		}
		*cs = append(*cs, ch)
		return true
	})
}

// array reads an array, calling elem with the parser at each element;
// elem reads it.
func (p *chunkParser) array(elem func() bool) bool {
	if !p.next('[') {
		return false
	}
	if p.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.next(']') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

func (p *chunkParser) choice(c *chunkChoice) bool {
	seen := 0
	return p.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			return p.once(&seen, 1) && p.integer(&c.Index)
		case "finish_reason":
			return p.once(&seen, 2) && p.str(&c.FinishReason)
		case "delta":
			if !p.once(&seen, 4) {
				return false
			}
			return p.null() || p.delta(c)
		}
		return p.other(key)
	})
}

func (p *chunkParser) delta(c *chunkChoice) bool {
	seen := 0
	return p.object(func(key []byte) bool {
		switch string(key) {
		case "content":
			return p.once(&seen, 1) && p.str(&c.Delta.Content)
		case "reasoning_content":
			return p.once(&seen, 2) && p.str(&c.Delta.ReasoningContent)
		case "refusal":
			return p.once(&seen, 4) && p.str(&c.Delta.Refusal)
		}
		return p.other(key)
	})
}

func (p *chunkParser) usage(u **chunkUsage) bool {
	if p.null() {
		*u = nil
		return true
	}
	v := &chunkUsage{}
	seen := 0
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "prompt_tokens":
			return p.once(&seen, 1) && p.integer(&v.PromptTokens)
		case "completion_tokens":
			return p.once(&seen, 2) && p.integer(&v.CompletionTokens)
		}
		return p.other(key)
	})
	*u = v
	return ok
}

// other skips the value of a key that is no field. A key that only
// json.Unmarshal's case-insensitive match would take for a field is not
// skipped.
func (p *chunkParser) other(key []byte) bool {
	for _, name := range chunkFields {
		if len(key) == len(name) && asciiFoldEqual(key, name) {
			return false
		}
	}
	for _, ch := range key {
		if ch >= utf8.RuneSelf {
			return false // json.Unmarshal folds some non-ASCII letters (K, ſ) too
		}
	}
	return p.skip(0)
}

// chunkFields are the JSON names of streamChunk's fields, at every level.
var chunkFields = []string{"model", "choices", "usage", "index", "finish_reason", "delta", "content", "reasoning_content", "refusal", "prompt_tokens", "completion_tokens"}

func asciiFoldEqual(a []byte, b string) bool {
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// maxSkipDepth bounds the nesting of a skipped value.
const maxSkipDepth = 32

// skip skips one value of any type; it gives up on strings with escapes,
// on numbers in anything but their plain form, and past maxSkipDepth.
func (p *chunkParser) skip(depth int) bool {
	p.space()
	if p.i >= len(p.b) || depth > maxSkipDepth {
		return false
	}
	switch ch := p.b[p.i]; {
	case ch == '"':
		_, ok := p.plain()
		return ok
	case ch == '{':
		return p.object(func(key []byte) bool { return p.skip(depth + 1) })
	case ch == '[':
		return p.array(func() bool { return p.skip(depth + 1) })
	case ch == '-' || ch >= '0' && ch <= '9':
		var n int
		return p.integer(&n)
	default:
		return p.literal("true") || p.literal("false") || p.literal("null")
	}
}
