package analysis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmconc/llmconc/record"
)

// failureKinds says what the failed requests of a pass were, naming only
// the error kinds (and HTTP statuses) that occurred, most frequent first:
// "7 rate_limited (HTTP 429: a rate limit), 2 timeout". "" when the pass has
// none counted.
func failureKinds(s *PassSummary) string {
	var parts []string
	for _, k := range ByCount(s.ErrorKinds) {
		n := s.ErrorKinds[k]
		if n <= 0 {
			continue
		}
		part := fmt.Sprintf("%d %s", n, k)
		if meaning := kindMeaning[k]; meaning != "" {
			part += " (" + meaning + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// ByCount returns the keys of counts, the most frequent first, ties by
// name.
func ByCount(counts map[string]int) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// kindMeaning explains the error kinds whose name says less than a user
// needs.
var kindMeaning = map[string]string{
	record.ErrorKindRateLimited:      "HTTP 429: a rate limit",
	record.ErrorKindHTTP5xx:          "server errors",
	record.ErrorKindHTTP4xx:          "the request was refused",
	record.ErrorKindRedirect:         "the worker never follows one",
	record.ErrorKindResponseTooLarge: "the answer passed its size bound",
	record.ErrorKindNotSent:          "the run's -timeout had passed, or its batch could not run",
}
