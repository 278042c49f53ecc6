package cli

import (
	"path/filepath"
	"testing"
)

// TestMainUpperBounds: every setting that could make a run last for ever,
// or overflow a size guard, has an upper bound; a value past it is one line
// on stderr, exit 2, and nothing started.
func TestMainUpperBounds(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "result.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"shards past the server's pending activities", []string{"-requests", "6000", "-shards", "5000", "-passes", "concurrent"}, "-shards"},
		{"max tokens that overflow the history guard", []string{"-max-tokens", "4611686018427387904"}, "-max-tokens"},
		{"max tokens past the bound", []string{"-max-tokens", "1000001"}, "-max-tokens"},
		{"timeout of 100000h", []string{"-timeout", "100000h"}, "-timeout"},
		{"request timeout of a day", []string{"-request-timeout", "24h"}, "-request-timeout"},
		{"fire lead of an hour", []string{"-fire-lead", "1h"}, "-fire-lead"},
		{"timeout past int64", []string{"-timeout", "9999999999h"}, "-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, append(tc.args, "-out", out)...)
			refusedBeforeStart(t, code, stdout, stderr, tc.want, out)
		})
	}
}
