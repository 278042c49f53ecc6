package history

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
)

// TestBoundClockOffsets: the completion's server time gives the records that
// the batch's last attempt sent the lower bound of their worker's offset,
// and the estimate becomes the middle of the two bounds; a record of a lost
// attempt (another worker, another attempt) keeps what it had.
func TestBoundClockOffsets(t *testing.T) {
	high := 0.090
	mine := record.Request{Index: 0, Worker: "w1", ActivityAttempt: 2}
	mine.SetClockOffset(nil, &high)
	lost := record.Request{Index: 1, Worker: "w0", ActivityAttempt: 1}
	lost.SetClockOffset(nil, &high)
	completed := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	out := activities.SendOutput{
		Records: []record.Request{mine, lost},
		Worker:  "w1", ActivityAttempt: 2,
		// The worker's clock said 70 ms past the completion's server time.
		FinishedAt: completed.Add(70 * time.Millisecond),
	}
	BoundClockOffsets(&out, completed)
	got := out.Records[0]
	require.NotNil(t, got.ClockOffsetLowSeconds)
	assert.InDelta(t, 0.070, *got.ClockOffsetLowSeconds, 1e-9)
	assert.InDelta(t, 0.090, *got.ClockOffsetHighSeconds, 1e-9)
	assert.InDelta(t, 0.080, *got.ClockOffsetSeconds, 1e-9, "the middle of the bounds")
	assert.Nil(t, out.Records[1].ClockOffsetLowSeconds, "a lost attempt's record keeps its own bounds")
	assert.InDelta(t, 0.090, *out.Records[1].ClockOffsetSeconds, 1e-9)

	old := activities.SendOutput{Records: []record.Request{{Index: 0}}}
	BoundClockOffsets(&old, completed)
	assert.Nil(t, old.Records[0].ClockOffsetSeconds, "a batch from before the bounds were recorded stays as it was")
}
