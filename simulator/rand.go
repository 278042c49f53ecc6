package simulator

import (
	"encoding/binary"
	"hash/fnv"
	"strings"
	"time"
)

// promptMessage is the part of a chat message that determines the outcome
// of a request.
type promptMessage struct {
	role string
	text string
}

// requestKey hashes (seed, model, messages) into the 64-bit key from which
// every random choice for a request is derived. Strings are length-prefixed
// so that different message splits never collide by concatenation.
func requestKey(seed int64, model string, msgs []promptMessage) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	writeUint := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		_, _ = h.Write(buf[:])
	}
	writeString := func(s string) {
		writeUint(uint64(len(s)))
		_, _ = h.Write([]byte(s))
	}
	writeUint(uint64(seed))
	writeString(model)
	writeUint(uint64(len(msgs)))
	for _, m := range msgs {
		writeString(m.role)
		writeString(m.text)
	}
	return h.Sum64()
}

// splitmix is the SplitMix64 generator: tiny, fast, and good enough to turn
// a request key into a reproducible stream of values.
type splitmix struct{ state uint64 }

func (r *splitmix) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a value uniformly distributed in [0, 1).
func (r *splitmix) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn returns a value in [0, n); n must be > 0.
func (r *splitmix) intn(n int) int { return int(r.next() % uint64(n)) }

// fault is the kind of fault injected into a request.
type fault int

// The faults, in the order of their intervals (see Faults). New faults go
// last, so that a seed keeps giving the same requests the older ones.
const (
	faultNone fault = iota
	fault500
	fault503
	faultDrop
	faultStall
	faultTruncate
	faultStallStream
	faultMalformed
	faultSlowHeaders
	fault429
)

// faultNames names the faults, for String and the "[fault:NAME]" markers.
var faultNames = map[fault]string{
	fault500:         "error500",
	fault503:         "error503",
	faultDrop:        "drop",
	faultStall:       "stall",
	faultTruncate:    "truncate",
	faultStallStream: "stall-stream",
	faultMalformed:   "malformed",
	faultSlowHeaders: "slow-headers",
	fault429:         "error429",
}

// FaultNames returns the names a "[fault:NAME]" marker accepts, in the
// order of the Faults fields: error500, error503, drop, stall, truncate,
// stall-stream, malformed, slow-headers, error429.
func FaultNames() []string {
	out := make([]string, 0, len(faultNames))
	for f := fault500; f <= fault429; f++ {
		out = append(out, faultNames[f])
	}
	return out
}

func (f fault) String() string {
	if n, ok := faultNames[f]; ok {
		return n
	}
	return "none"
}

// pick maps a uniform draw u in [0,1) to a fault, treating the fractions as
// consecutive intervals of [0,1).
func (f Faults) pick(u float64) fault {
	edge := 0.0
	for i, frac := range f.fractions() {
		if *frac <= 0 {
			continue
		}
		edge += *frac
		if u < edge {
			return fault500 + fault(i)
		}
	}
	return faultNone
}

// markerPrefix starts a marker that asks for a fault by name.
const markerPrefix = "[fault:"

// markedFault returns the fault that the last message asks for with a
// "[fault:NAME]" marker, if any.
func markedFault(msgs []promptMessage) (fault, bool) {
	if len(msgs) == 0 {
		return faultNone, false
	}
	text := msgs[len(msgs)-1].text
	for {
		i := strings.Index(text, markerPrefix)
		if i < 0 {
			return faultNone, false
		}
		text = text[i+len(markerPrefix):]
		name, _, ok := strings.Cut(text, "]")
		if !ok {
			return faultNone, false
		}
		for f, n := range faultNames {
			if n == name {
				return f, true
			}
		}
	}
}

// plan is everything about a request's outcome that is decided up front.
type plan struct {
	key    uint64
	jitter time.Duration
	fault  fault
	// words is the full answer of cfg.OutputTokens words; a request capped
	// by max_tokens gets a prefix.
	words []string
}

// planFor derives the plan of a request from (Seed, model, messages). The
// draws are taken in a fixed order — jitter, fault, then the words — so the
// jitter and the fault never depend on the answer length.
func (s *Server) planFor(model string, msgs []promptMessage) plan {
	key := requestKey(s.cfg.Seed, model, msgs)
	r := splitmix{state: key}
	jitterDraw := r.next()
	faultDraw := r.float()
	p := plan{key: key, fault: s.cfg.Faults.pick(faultDraw)}
	if f, ok := markedFault(msgs); ok {
		p.fault = f
	}
	if s.cfg.Jitter > 0 {
		p.jitter = time.Duration(jitterDraw % uint64(s.cfg.Jitter))
	}
	p.words = generateWords(&r, s.cfg.OutputTokens)
	return p
}

// generateWords returns n pseudo-English words grouped into sentences: the
// first word of a sentence is capitalized and the last one ends with a
// period. Each returned string is one token.
func generateWords(r *splitmix, n int) []string {
	out := make([]string, n)
	left := 0 // words left in the current sentence
	for i := range out {
		w := vocabulary[r.intn(len(vocabulary))]
		if left == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
			left = 4 + r.intn(10)
		}
		left--
		if left == 0 || i == n-1 {
			w += "."
		}
		out[i] = w
	}
	return out
}

// countPromptTokens counts whitespace-separated words over all messages,
// plus 3 tokens per message and 3 for priming the reply.
func countPromptTokens(msgs []promptMessage) int {
	n := 3
	for _, m := range msgs {
		n += 3 + len(strings.Fields(m.text))
	}
	return n
}

var vocabulary = []string{
	"the", "a", "system", "model", "answer", "request", "token", "stream",
	"server", "client", "queue", "latency", "window", "limit", "signal",
	"result", "value", "sample", "measure", "report", "simple", "quiet",
	"rapid", "steady", "bright", "careful", "gentle", "modern", "ancient",
	"river", "mountain", "garden", "harbor", "lantern", "meadow", "forest",
	"engine", "bridge", "market", "letter", "pattern", "journey",
	"and", "but", "or", "so", "then", "while", "because", "although", "if",
	"is", "was", "will", "can", "should", "might", "must", "would", "could",
	"runs", "waits", "moves", "builds", "holds", "finds", "keeps", "takes",
	"shows", "learns", "writes", "reads", "brings", "sends", "follows",
	"of", "to", "in", "on", "with", "from", "under", "over", "through",
	"near", "beyond", "across", "between", "without", "around", "after",
	"every", "some", "many", "few", "each", "other", "another", "same",
	"new", "old", "small", "large", "early", "late", "clear", "certain",
	"often", "rarely", "always", "again", "together", "slowly", "gladly",
	"it", "they", "we", "you", "this", "that", "these", "those", "there",
	"time", "place", "light", "water", "story", "number", "morning",
	"evening", "question", "reason", "season", "moment", "detail", "idea",
}
