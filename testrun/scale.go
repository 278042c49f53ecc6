package testrun

import (
	"fmt"
	"strings"
	"unicode"
)

// MaxConcurrency bounds the requests one run keeps in flight at once
// (-concurrency, each -sweep level; a concurrent pass of N sends all N at
// once by default). Each holds a connection over HTTP/1.1, so a file of the
// worker and a local port (Linux gives about 28,000 per endpoint), and
// memory: 10,000 at once is the most measured, within the worker's 1 GiB
// (bench/scale; docs/limits.md).
const MaxConcurrency = 10_000

// streamGapBytes is what one more token adds to a streamed record: its gap
// in chunk_gaps_seconds, about 12 bytes ("0.012345678,"; nanoseconds).
const streamGapBytes = 12

// scaleError checks what grows with the number of requests: the requests in
// flight, the run's input, each batch's result, and the events and bytes of
// its history. Its message says which limit a run is over and, when a smaller
// run with the same settings fits, the largest -requests that does.
func (in Input) scaleError() error {
	err := in.limitError()
	if err == nil {
		return nil
	}
	n := in.LargestRequests()
	if n < 1 || n >= in.Requests {
		return err
	}
	// The limit that stops the largest run may be another one.
	if next := in.scaled(n + 1).limitError(); next != nil && !sameLimit(next, err) {
		return fmt.Errorf("%v; with these settings at most %d -requests fit (past them: %v)", err, n, next)
	}
	return fmt.Errorf("%v; with these settings at most %d -requests fit", err, n)
}

// limitError is the first limit of scaleError that in is over, or nil.
func (in Input) limitError() error {
	if c := in.maxInFlight(); c > MaxConcurrency {
		return fmt.Errorf("%d requests in flight at once is over the %d one run sends (each holds a connection, a file and memory of the worker: docs/limits.md)", c, MaxConcurrency)
	}
	return in.sizeError()
}

// maxInFlight is the most requests the run keeps in flight at once.
func (in Input) maxInFlight() int {
	c := 0
	if in.RunsConcurrent() {
		c = in.Concurrency
	}
	for _, l := range in.Sweep {
		c = max(c, l)
	}
	return c
}

// LargestRequests is the largest number of requests, at most in.Requests,
// for which a run with in's other settings is within every limit of
// scaleError (its prompts cycled as the starter cycles them, its
// concurrency scaled down with it when it equals -requests); 0 when none
// is, or for a rerun of some requests (Only), whose size is not -requests.
func (in Input) LargestRequests() int {
	if in.Only != nil || len(in.Prompts) == 0 {
		return 0
	}
	lo, hi := 0, min(in.Requests, len(in.Prompts))
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if in.scaled(mid).limitError() == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// scaled is in with n requests (n at most len(in.Prompts)): the first n
// prompts, and the concurrency scaled down with it when it equals -requests.
func (in Input) scaled(n int) Input {
	s := in
	s.Requests, s.Prompts = n, in.Prompts[:min(n, len(in.Prompts))]
	if in.Concurrency >= in.Requests {
		s.Concurrency = n
	}
	s.Concurrency = min(s.Concurrency, n)
	return s
}

// sameLimit reports whether two refusals name the same limit: the same
// words, whatever their figures.
func sameLimit(a, b error) bool {
	strip := func(e error) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return -1
			}
			return r
		}, e.Error())
	}
	return strip(a) == strip(b)
}
