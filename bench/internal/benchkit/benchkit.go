// Package benchkit holds what the benchmarks in bench/ share.
package benchkit

import (
	"fmt"
	"strconv"
	"strings"
)

// Counts parses a -n flag: comma-separated request counts, each at least 1.
func Counts(list string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad -n entry %q", f)
		}
		counts = append(counts, n)
	}
	return counts, nil
}
