package record_test

import (
	"testing"
	"time"

	"github.com/llmconc/llmconc/record"
)

// ErrorKindOf gives records made elsewhere a kind too.
func TestErrorKindOf(t *testing.T) {
	for _, tc := range []struct {
		rec  record.Request
		want string
	}{
		{record.Request{OK: true, HTTPStatus: 200}, ""},
		{record.Request{ErrorKind: record.ErrorKindStreamStalled, SentAt: time.Unix(1, 0)}, record.ErrorKindStreamStalled},
		{record.Request{Error: "not sent: the run's -timeout had passed"}, record.ErrorKindNotSent},
		{record.Request{SentAt: time.Unix(1, 0), HTTPStatus: 502}, record.ErrorKindHTTP5xx},
		{record.Request{SentAt: time.Unix(1, 0), HTTPStatus: 429}, record.ErrorKindRateLimited},
		{record.Request{SentAt: time.Unix(1, 0), HTTPStatus: 403}, record.ErrorKindHTTP4xx},
		{record.Request{SentAt: time.Unix(1, 0)}, record.ErrorKindOther},
	} {
		if got := record.ErrorKindOf(tc.rec); got != tc.want {
			t.Errorf("ErrorKindOf(%+v) = %q, want %q", tc.rec, got, tc.want)
		}
	}
}
