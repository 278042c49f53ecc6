package analysis

import (
	"fmt"
	"sort"
	"strings"
)

// failureKinds says what the failed requests of a pass were, naming only
// the error kinds (and HTTP statuses) that occurred, most frequent first:
// "7 rate_limited (HTTP 429: a rate limit), 2 timeout". "" when the pass has
// none counted.
func failureKinds(s *PassSummary) string {
	type kc struct {
		kind string
		n    int
	}
	var kinds []kc
	for k, n := range s.ErrorKinds {
		if n > 0 {
			kinds = append(kinds, kc{k, n})
		}
	}
	sort.Slice(kinds, func(i, j int) bool {
		if kinds[i].n != kinds[j].n {
			return kinds[i].n > kinds[j].n
		}
		return kinds[i].kind < kinds[j].kind
	})
	var parts []string
	for _, k := range kinds {
		part := fmt.Sprintf("%d %s", k.n, k.kind)
		if meaning := kindMeaning[k.kind]; meaning != "" {
			part += " (" + meaning + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// kindMeaning explains the error kinds whose name says less than a user
// needs.
var kindMeaning = map[string]string{
	"rate_limited":       "HTTP 429: a rate limit",
	"http_5xx":           "server errors",
	"http_4xx":           "the request was refused",
	"redirect":           "the worker never follows one",
	"response_too_large": "the answer passed its size bound",
	"not_sent":           "the run's -timeout had passed",
}
