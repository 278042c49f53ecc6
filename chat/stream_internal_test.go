package chat

import "testing"

func TestStreamErrorMessage(t *testing.T) {
	tests := []struct {
		payload string
		msg     string
		isErr   bool
	}{
		{`{"error":{"message":"boom","type":"server_error"}}`, "boom", true},
		{`{ "error" : "text error", "error_type": "x"}`, "text error", true},
		{`{"object":"error","message":"engine died","code":500}`, "engine died", true},
		{`{"error":{"code":500}}`, `{"error":{"code":500}}`, true},
		{`{"error":{"message":"cut`, `{"error":{"message":"cut`, true},
		{`{"error":null,"choices":[]}`, "", false},
		{`{"id":"x","choices":[]}`, "", false},
		{`not json`, "not json", false},
	}
	for _, tc := range tests {
		msg, isErr := streamErrorMessage([]byte(tc.payload))
		if isErr != tc.isErr || (tc.isErr && msg != tc.msg) {
			t.Errorf("streamErrorMessage(%s) = %q, %v; want %q, %v", tc.payload, msg, isErr, tc.msg, tc.isErr)
		}
	}
}
