package analysis

import (
	"fmt"
	"strings"
)

// ProbeSLOShare is the share of a level's requests that must meet every
// objective of the probe's -slo for the level to be within the SLO.
const ProbeSLOShare = 0.95

// SummarizeProbeSLO is SummarizeProbe for a probe run with objectives (nil:
// none, the same as SummarizeProbe). Each level's Goodput must be set (as
// Goodput counts its requests); the recommendation is then additionally
// capped at the largest level at which at least ProbeSLOShare of the
// requests met every objective, and says so.
func SummarizeProbeSLO(levels []ProbeLevel, limits ProbeLimits, slo *SLO) ProbeSummary {
	p := SummarizeProbe(levels, limits)
	if slo == nil {
		return p
	}
	s := *slo
	p.SLO = &s
	p.RecommendedConcurrency, p.Recommendation = capBySLO(p, s)
	return p
}

// withinSLO reports whether at least ProbeSLOShare of level l's requests
// met every objective.
func (l ProbeLevel) withinSLO() bool {
	return l.Goodput != nil && l.Goodput.Total > 0 && float64(l.Goodput.Met) >= ProbeSLOShare*float64(l.Goodput.Total)
}

// ProbeSLOCap is the largest level at which at least ProbeSLOShare of the
// requests met every objective; 0 when none did.
func ProbeSLOCap(levels []ProbeLevel) int {
	c := 0
	for _, l := range levels {
		if l.withinSLO() && l.Concurrency > c {
			c = l.Concurrency
		}
	}
	return c
}

// capBySLO is the recommendation of p (made without the objectives) capped
// at ProbeSLOCap, and why.
func capBySLO(p ProbeSummary, slo SLO) (int, string) {
	rec, why := p.RecommendedConcurrency, p.Recommendation
	if rec == 0 || len(p.Levels) == 0 {
		return rec, why
	}
	rule := fmt.Sprintf("the largest level at which %.0f%% of requests met %s", 100*ProbeSLOShare, slo)
	c := ProbeSLOCap(p.Levels)
	switch {
	case c == 0:
		first := p.Levels[0]
		return 0, fmt.Sprintf("No concurrency meets the objectives: the recommendation is capped at %s, and no level was (at %d, %s), though the endpoint alone would allow %d.",
			rule, first.Concurrency, metText(first), rec)
	case c < rec:
		at := levelAt(p.Levels, c)
		return c, fmt.Sprintf("Use %d %s at a time, %s (%s), though the endpoint alone would allow %d: %s",
			c, plural(c, "request"), rule, metText(at), rec, lowerFirst(strings.TrimPrefix(why, fmt.Sprintf("Use %d requests at a time: ", rec))))
	}
	return rec, fmt.Sprintf("%s, and %d is within %s (%d).", strings.TrimSuffix(why, "."), rec, rule, c)
}

// metText says how many of a level's requests met the objectives.
func metText(l ProbeLevel) string {
	if l.Goodput == nil || l.Goodput.Total == 0 {
		return "no request measured"
	}
	return fmt.Sprintf("%d of %d met them", l.Goodput.Met, l.Goodput.Total)
}

// lowerFirst lowers the first letter of s.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// plural is word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
