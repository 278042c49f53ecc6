package workerhost

import (
	"fmt"
	"syscall"

	"github.com/llmconc/llmconc/testrun"
)

// fileLimitWarning says when the worker may open fewer files than a run may
// keep requests in flight: over HTTP/1.1 each request in flight holds a
// connection, so a run of testrun.MaxConcurrency at once needs that many
// files and a few dozen more. Go raises the soft limit to the hard one when
// it starts; the hard limit is what `ulimit -Hn` sets. "" when it is enough,
// or unknown.
func fileLimitWarning() string {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return ""
	}
	return fileLimitText(lim.Cur)
}

// fileLimitMargin is the worker's own files: its Temporal connection, its
// logs, the metrics listener.
const fileLimitMargin = 100

func fileLimitText(limit uint64) string {
	need := uint64(testrun.MaxConcurrency + fileLimitMargin)
	if limit >= need {
		return ""
	}
	return fmt.Sprintf("this worker may open at most %d files (ulimit -n): a run of more than about %d requests in flight over HTTP/1.1 will fail to connect some of them; raise the limit to %d (ulimit -Hn, or LimitNOFILE) for the %d a run may send at once",
		limit, max(int64(limit)-fileLimitMargin, 0), need, testrun.MaxConcurrency)
}
