package activities

import (
	"encoding/json"
	"sort"
	"unicode/utf8"

	"github.com/llmconc/llmconc/record"
)

// MaxBatchResultBytes bounds the encoded result of a batch, and its
// heartbeat details, below Temporal's 2 MiB payload limit (with room for the
// payload's envelope and the codec's). A result past the limit would fail
// the activity and lose every record of the batch, though the endpoint
// answered (and billed) them; so a batch trims its response texts instead
// (see fitRecords).
const MaxBatchResultBytes = 1800 << 10

// fitRecords returns recs, whose encoding as a batch result is over limit
// bytes, with their longest response texts cut to a common length so that
// it fits; each cut record says response_truncated. Every record keeps its
// status, timings, tokens and error. recs itself is not changed.
func fitRecords(recs []record.Request, limit int) []record.Request {
	out := append([]record.Request(nil), recs...)
	for range 4 {
		size := encodedSize(out)
		if size <= limit {
			return out
		}
		// What each response costs encoded, and what the rest costs.
		costs := make([]int, len(out))
		total := 0
		for i, r := range out {
			costs[i] = jsonStringSize(r.Response)
			total += costs[i]
		}
		// Room for the responses, with a margin for the new fields.
		budget := limit - (size - total) - len(out)*len(`,"response_truncated":true…`)
		capAt := capFor(costs, max(budget, 0))
		for i := range out {
			if costs[i] > capAt {
				out[i].Response = cutEncoded(out[i].Response, capAt)
				out[i].ResponseTruncated = true
			}
		}
		limit -= max(encodedSize(out)-limit, 0) // overshoot: aim lower
	}
	for i := range out {
		if out[i].Response != "" {
			out[i].Response, out[i].ResponseTruncated = "", true
		}
	}
	return out
}

// capFor returns the largest c such that the costs, each capped at c, add
// up to at most budget.
func capFor(costs []int, budget int) int {
	sorted := append([]int(nil), costs...)
	sort.Ints(sorted)
	spent := 0
	for i, c := range sorted {
		left := len(sorted) - i
		if spent+c*left > budget {
			return (budget - spent) / left
		}
		spent += c
	}
	return sorted[len(sorted)-1]
}

// cutEncoded cuts s, on a character boundary, so that its JSON encoding
// takes at most n bytes, and marks the cut with an ellipsis.
func cutEncoded(s string, n int) string {
	if n <= len(`"…"`) {
		return ""
	}
	// Each byte takes at least one byte encoded: start from n and shrink.
	cut := min(len(s), n-len(`"…"`))
	for {
		for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut--
		}
		t := s[:cut] + "…"
		if jsonStringSize(t) <= n || cut == 0 {
			return t
		}
		over := jsonStringSize(t) - n
		cut -= max(over/6, 1)
		cut = max(cut, 0)
	}
}

// encodedSize is the size of recs encoded as a batch result.
func encodedSize(recs []record.Request) int {
	b, err := json.Marshal(SendOutput{Records: recs})
	if err != nil {
		return 0
	}
	return len(b)
}

// jsonStringSize is the size of s encoded as a JSON string.
func jsonStringSize(s string) int {
	b, _ := json.Marshal(s)
	return len(b)
}
