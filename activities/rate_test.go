package activities_test

import (
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/simulator"
)

// A batch whose requests carry send offsets (-rate) sends each at FireAt
// plus its offset.
func TestSendAtOffsets(t *testing.T) {
	_, base := startSim(t, simulator.Config{APIKey: testKey, Latency: 10 * time.Millisecond})
	in := batch(3)
	in.Pass, in.Concurrency = record.PassConcurrent, 3
	for i := range in.Requests {
		in.Requests[i].SendOffset = time.Duration(i) * 200 * time.Millisecond
	}
	in.FireAt = time.Now().Add(100 * time.Millisecond)
	out := send(t, newActs(testKey, base), in)
	if len(out.Records) != 3 {
		t.Fatalf("got %d records, want 3", len(out.Records))
	}
	for _, r := range out.Records {
		at := in.FireAt.Add(time.Duration(r.Index) * 200 * time.Millisecond)
		if !r.OK || r.SentAt.Before(at) || r.SentAt.Sub(at) > 150*time.Millisecond {
			t.Errorf("request %d: ok=%v, sent %s after its instant, want within 150ms", r.Index, r.OK, r.SentAt.Sub(at))
		}
	}
}
