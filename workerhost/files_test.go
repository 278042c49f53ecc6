package workerhost

import (
	"strings"
	"testing"

	"github.com/llmconc/llmconc/testrun"
)

func TestFileLimitWarning(t *testing.T) {
	if got := fileLimitText(testrun.MaxConcurrency + fileLimitMargin); got != "" {
		t.Errorf("a limit with room for %d requests in flight: want no warning, got %q", testrun.MaxConcurrency, got)
	}
	got := fileLimitText(1024)
	for _, want := range []string{"at most 1024 files", "about 924 requests in flight", "ulimit"} {
		if !strings.Contains(got, want) {
			t.Errorf("the warning for 1024 files %q does not say %q", got, want)
		}
	}
}
