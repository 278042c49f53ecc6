package benchkit

import (
	"slices"
	"testing"
)

func TestCounts(t *testing.T) {
	got, err := Counts("100, 1000")
	if err != nil || !slices.Equal(got, []int{100, 1000}) {
		t.Fatalf("Counts(\"100, 1000\") = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-5", "10,x", "10,,20"} {
		if _, err := Counts(bad); err == nil {
			t.Errorf("Counts(%q) accepted", bad)
		}
	}
}
