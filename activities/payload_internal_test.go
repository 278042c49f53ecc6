package activities

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/llmconc/llmconc/record"
)

// TestHeartbeatFitsThePayloadLimit: the heartbeat details of a batch whose
// records pass the payload limit are trimmed like its result, so that a
// retried attempt still resumes from them.
func TestHeartbeatFitsThePayloadLimit(t *testing.T) {
	p := &batchProgress{inFlight: map[int]bool{}, sentBefore: map[int]bool{}}
	for i := range 12 {
		if err := p.add(record.Request{Index: i, OK: true, HTTPStatus: 200, SentAt: time.Unix(1, 0), Response: strings.Repeat("é", 100<<10)}); err != nil {
			t.Fatal(err)
		}
	}
	ep, _ := p.snapshot()
	b, err := json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxBatchResultBytes {
		t.Fatalf("heartbeat details of %d KiB, over %d KiB", len(b)>>10, MaxBatchResultBytes>>10)
	}
	var back SendProgress
	if err := json.Unmarshal(b, &back); err != nil || len(back.Records) != 12 {
		t.Fatalf("the details hold %d records (%v), want 12", len(back.Records), err)
	}
	for _, r := range back.Records {
		if !r.ResponseTruncated || r.HTTPStatus != 200 {
			t.Fatalf("record %d: truncated %v status %d", r.Index, r.ResponseTruncated, r.HTTPStatus)
		}
	}
}

// TestFitRecordsCutsOnCharacterBoundaries: cut responses stay valid UTF-8
// and short responses are left whole.
func TestFitRecordsCutsOnCharacterBoundaries(t *testing.T) {
	recs := []record.Request{{Index: 0, Response: "short"}, {Index: 1, Response: strings.Repeat("日本", 200<<10)}, {Index: 2, Response: strings.Repeat("\"\\\n", 300<<10)}}
	out := fitRecords(recs, 512<<10)
	if encodedSize(out) > 512<<10 {
		t.Fatalf("%d bytes encoded, over the limit", encodedSize(out))
	}
	if out[0].Response != "short" || out[0].ResponseTruncated {
		t.Errorf("a short response was cut: %q", out[0].Response)
	}
	for _, r := range out[1:] {
		if !r.ResponseTruncated || !strings.HasSuffix(r.Response, "…") || !utf8.ValidString(r.Response) {
			t.Errorf("record %d: truncated %v", r.Index, r.ResponseTruncated)
		}
	}
	if recs[1].ResponseTruncated || len(recs[1].Response) != len(strings.Repeat("日本", 200<<10)) {
		t.Errorf("fitRecords changed its input")
	}
}
