package workflows

import (
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// retrying reports whether a request answered with rec is sent again.
func retrying(in testrun.Input, rec record.Request) bool {
	return in.Retry == testrun.RetryBackoff && rec.Retryable() && int(rec.Attempt) < in.RetryAttempts
}

// retryWait is how long to wait before sending again requests answered with
// recs: the longest Retry-After among them, or an exponential backoff from
// 1 s (capped at 60 s) when none said.
func retryWait(recs []record.Request) time.Duration {
	var wait time.Duration
	for _, rec := range recs {
		d := time.Duration(1<<min(max(rec.Attempt-1, 0), 6)) * time.Second
		if rec.RetryAfterSeconds != nil {
			d = time.Duration(*rec.RetryAfterSeconds * float64(time.Second))
		}
		wait = max(wait, min(d, time.Minute))
	}
	return wait
}
