package prompts_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/prompts"
)

func TestBuiltIn(t *testing.T) {
	require.GreaterOrEqual(t, len(prompts.BuiltIn), 20)
	seen := map[string]bool{}
	for i, p := range prompts.BuiltIn {
		assert.NotEmpty(t, p, "prompt %d", i)
		assert.Equal(t, strings.TrimSpace(p), p, "prompt %d has surrounding space", i)
		assert.NotContains(t, p, "\n", "prompt %d spans lines", i)
		assert.False(t, seen[p], "prompt %d is a duplicate: %q", i, p)
		seen[p] = true
	}
}

func TestForRequests(t *testing.T) {
	base := prompts.BuiltIn
	for n := 0; n <= 3*len(base); n++ {
		got := prompts.ForRequests(base, n)
		require.Len(t, got, n)
		seen := map[string]bool{}
		for i, p := range got {
			if seen[p] {
				t.Fatalf("n=%d: prompt %d repeats %q", n, i, p)
			}
			seen[p] = true
			if !strings.HasPrefix(p, base[i%len(base)]) {
				t.Fatalf("n=%d: prompt %d = %q does not come from base prompt %d", n, i, p, i%len(base))
			}
		}
	}
	// The first round is the base list itself, in order.
	assert.Equal(t, base, prompts.ForRequests(base, len(base)))
}

func TestForRequestsVariations(t *testing.T) {
	got := prompts.ForRequests([]string{"alpha", "beta"}, 5)
	assert.Equal(t, []string{"alpha", "beta", "alpha (variation 2)", "beta (variation 2)", "alpha (variation 3)"}, got)
	assert.Equal(t, []string{"only", "only (variation 2)", "only (variation 3)"}, prompts.ForRequests([]string{"only"}, 3))
	assert.Empty(t, prompts.ForRequests([]string{"x"}, 0))
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prompts.txt")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestReadFile(t *testing.T) {
	path := writeFile(t, "first prompt\n\n   \nsecond prompt\r\nfirst prompt\n  third prompt  \n\tsecond prompt\t\nlast without newline")
	got, err := prompts.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"first prompt", "second prompt", "third prompt", "last without newline"}, got,
		"blank lines and repeats are skipped, lines are trimmed, order is kept")
}

func TestReadFileLongLine(t *testing.T) {
	long := strings.Repeat("w", 200*1024) // over bufio's default 64 KiB
	got, err := prompts.ReadFile(writeFile(t, "short\n"+long+"\n"))
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, long, got[1])
}

func TestReadFileErrors(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		path := writeFile(t, "")
		_, err := prompts.ReadFile(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), "has no prompts")
		assert.Contains(t, err.Error(), "one prompt per line")
	})
	t.Run("only blank lines", func(t *testing.T) {
		path := writeFile(t, "\n   \n\t\n\r\n")
		_, err := prompts.ReadFile(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "has no prompts")
	})
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.txt")
		got, err := prompts.ReadFile(path)
		require.Error(t, err)
		assert.Nil(t, got)
		assert.True(t, errors.Is(err, fs.ErrNotExist), "the cause must stay inspectable: %v", err)
		assert.Contains(t, err.Error(), "cannot read the prompt file")
		assert.Contains(t, err.Error(), path)
	})
	t.Run("a folder", func(t *testing.T) {
		_, err := prompts.ReadFile(t.TempDir())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "prompt file")
	})
	t.Run("line too long", func(t *testing.T) {
		path := writeFile(t, strings.Repeat("w", 2*1024*1024))
		_, err := prompts.ReadFile(path)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot read the prompt file")
		assert.Contains(t, err.Error(), path)
	})
}
