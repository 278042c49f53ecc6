package record

import (
	"fmt"
	"strconv"
	"strings"
)

// Pass names the pass of a run a request belongs to, as its record carries
// it: PassSequential, PassConcurrent, PassWarmup, or a sweep level's pass
// (SweepPass). Its JSON is the plain string.
type Pass string

// Pass names.
const (
	PassSequential Pass = "sequential"
	PassConcurrent Pass = "concurrent"
	// PassWarmup holds the unmeasured warm-up requests sent before the
	// first measured pass: they take part in no figure.
	PassWarmup Pass = "warmup"
)

// sweepPrefix starts the name of every sweep level's pass.
const sweepPrefix = "sweep-c"

// SweepPass is the pass of the sweep level of concurrency level.
func SweepPass(level int) Pass { return Pass(fmt.Sprintf("%s%d", sweepPrefix, level)) }

// SweepLevel returns the concurrency level of a sweep level's pass; ok is
// false for any other pass.
func (p Pass) SweepLevel() (level int, ok bool) {
	s, found := strings.CutPrefix(string(p), sweepPrefix)
	if !found {
		return 0, false
	}
	level, err := strconv.Atoi(s)
	if err != nil || level < 1 {
		return 0, false
	}
	return level, true
}
