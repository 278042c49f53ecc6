package testrun_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmconc/llmconc/testrun"
)

// gapStats returns the mean and the coefficient of variation of the gaps
// between consecutive offsets, in seconds.
func gapStats(offsets []time.Duration) (mean, cv float64) {
	n := float64(len(offsets) - 1)
	var sum, sq float64
	for i := 1; i < len(offsets); i++ {
		g := (offsets[i] - offsets[i-1]).Seconds()
		sum += g
		sq += g * g
	}
	mean = sum / n
	sd := math.Sqrt(sq/n - mean*mean)
	return mean, sd / mean
}

func TestArrivalOffsetsDeterministic(t *testing.T) {
	a := testrun.ArrivalOffsets(500, 20, 1, 42)
	b := testrun.ArrivalOffsets(500, 20, 1, 42)
	if !slices.Equal(a, b) {
		t.Fatal("one seed gave two schedules")
	}
	if c := testrun.ArrivalOffsets(500, 20, 1, 43); slices.Equal(a, c) {
		t.Fatal("two seeds gave one schedule")
	}
	if a[0] != 0 {
		t.Fatalf("the first arrival is at %s, want the send instant", a[0])
	}
	if !slices.IsSorted(a) {
		t.Fatal("the offsets are not in order")
	}
	// A fixed seed gives fixed offsets on every build: the workflow's
	// schedule must not change under a replay or a rerun.
	want := []time.Duration{0, 221552699, 365764875}
	if got := testrun.ArrivalOffsets(3, 10, 1, 7); !slices.Equal(got, want) {
		t.Fatalf("seed 7 gave %v, want %v", got, want)
	}
}

// TestArrivalOffsetsRateAndCV checks, over many draws, that the gaps have
// mean 1/rate and a coefficient of variation of 1/√burstiness.
func TestArrivalOffsetsRateAndCV(t *testing.T) {
	for _, tc := range []struct{ rate, burstiness float64 }{{20, 1}, {5, 4}, {100, 0.25}, {1, 0.5}, {50, 100}} {
		offsets := testrun.ArrivalOffsets(100001, tc.rate, tc.burstiness, 1)
		mean, cv := gapStats(offsets)
		wantCV := 1 / math.Sqrt(tc.burstiness)
		if math.Abs(mean*tc.rate-1) > 0.02 {
			t.Errorf("rate %g, burstiness %g: mean gap %gs, want %gs ± 2%%", tc.rate, tc.burstiness, mean, 1/tc.rate)
		}
		if math.Abs(cv/wantCV-1) > 0.03 {
			t.Errorf("rate %g, burstiness %g: coefficient of variation %.3f, want %.3f ± 3%%", tc.rate, tc.burstiness, cv, wantCV)
		}
	}
}

func TestArrivalOffsetsNone(t *testing.T) {
	if testrun.ArrivalOffsets(10, 0, 1, 1) != nil || testrun.ArrivalOffsets(0, 5, 1, 1) != nil {
		t.Fatal("no rate or no request should give no schedule")
	}
	if got := testrun.ArrivalOffsets(1, 5, 1, 1); len(got) != 1 || got[0] != 0 {
		t.Fatalf("one request: %v", got)
	}
}

func rateInput(rate, burstiness float64) testrun.Input {
	in := testrun.Input{Requests: 200, Model: "m", Prompts: make([]string, 200), Rate: rate, Burstiness: burstiness, Seed: 9}
	return in.WithDefaults()
}

func TestValidateRate(t *testing.T) {
	in := rateInput(20, 0)
	if in.Burstiness != testrun.DefaultBurstiness {
		t.Fatalf("burstiness defaults to %g", in.Burstiness)
	}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	if span := in.ScheduleSpan(); span < 7*time.Second || span > 13*time.Second {
		t.Fatalf("200 arrivals at 20/s span %s", span)
	}
	if in.ExecutionTimeout() < rateInput(0, 0).ExecutionTimeout()+in.ScheduleSpan() {
		t.Fatal("the execution timeout leaves no room for the schedule")
	}
	short := rateInput(1, 1)
	short.Timeout = time.Minute
	concOnly := rateInput(5, 1)
	concOnly.Passes = testrun.PassesSequential
	for _, tc := range []struct {
		in   testrun.Input
		want string
	}{
		{rateInput(-1, 1), "-rate must be between"},
		{rateInput(math.NaN(), 1), "-rate must be between"},
		{rateInput(testrun.MaxRate+1, 1), "-rate must be between"},
		{rateInput(0, 2), "give -rate too"},
		{rateInput(5, 0.001), "-burstiness must be between"},
		{rateInput(5, math.Inf(1)), "-burstiness must be between"},
		{short, "longer than -timeout"},
		{concOnly, "needs -passes both or concurrent"},
	} {
		err := tc.in.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rate %g burstiness %g passes %s: got %v, want %q", tc.in.Rate, tc.in.Burstiness, tc.in.Passes, err, tc.want)
		}
	}
}
