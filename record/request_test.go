package record_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
)

// The JSON of a record keeps the schema of version 1: times as RFC 3339
// strings with nanoseconds in UTC, and "" for a request never sent.
func TestRequestJSONKeepsTheSchema(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	var r record.Request
	r.SetTimes(sent, sent.Add(1500*time.Millisecond))
	r.Attempts = []record.Attempt{{Attempt: 1, SentAt: sent}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"sent_at":"2026-01-02T02:04:05.000000006Z"`, `"received_at":"2026-01-02T02:04:06.500000006Z"`, `"latency_seconds":1.5`, `"attempts":[{"attempt":1,`, `"received_at":""`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back record.Request
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.SentAt.Equal(sent) || !back.ReceivedAt.Equal(sent.Add(1500*time.Millisecond)) || !back.Attempts[0].SentAt.Equal(sent) || !back.Attempts[0].ReceivedAt.IsZero() {
		t.Errorf("round trip: got %+v", back)
	}

	var unsent record.Request
	if err := json.Unmarshal([]byte(`{"index":3,"sent_at":"","received_at":""}`), &unsent); err != nil {
		t.Fatal(err)
	}
	if unsent.Index != 3 || unsent.WasSent() || unsent.Answered() || record.ErrorKindOf(unsent) != record.ErrorKindNotSent {
		t.Errorf("unsent: got %+v, kind %q", unsent, record.ErrorKindOf(unsent))
	}
	if err := json.Unmarshal([]byte(`{"sent_at":"yesterday"}`), &unsent); err == nil || !strings.Contains(err.Error(), "sent_at") {
		t.Errorf("a bad time: got %v, want an error naming sent_at", err)
	}
}
