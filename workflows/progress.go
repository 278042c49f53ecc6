package workflows

import "github.com/llmconc/llmconc/testrun"

// Bounds on one answer of the progress query. The answer travels in a
// workflow task's completion, which the server takes up to 4 MiB (its gRPC
// limit; past it the workflow task itself fails) and the SDK warns about
// past 512 KiB: the 10,000 events of a pass took about 1 MiB at once. An
// event takes about progressEventBytes encoded, plus its error text; an
// answer carries at most MaxProgressEvents of them and about
// maxProgressBytes, and the starter asks again from Next while More is set.
const (
	MaxProgressEvents  = 2000
	maxProgressBytes   = 384 << 10
	progressEventBytes = 110
)

// eventsFrom returns the events from index from on, within the bounds
// above (at least one), the index after the last one returned, and
// whether more follow it. A from outside the events means "after the last".
func eventsFrom(events []testrun.ProgressEvent, from int) (page []testrun.ProgressEvent, next int, more bool) {
	if from < 0 || from > len(events) {
		from = len(events)
	}
	end, size := from, 0
	for end < len(events) && end-from < MaxProgressEvents {
		size += progressEventBytes + len(events[end].Error)
		if size > maxProgressBytes && end > from {
			break
		}
		end++
	}
	return append([]testrun.ProgressEvent(nil), events[from:end]...), end, end < len(events)
}
