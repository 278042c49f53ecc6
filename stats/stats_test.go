package stats

import (
	"encoding/json"
	"math"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const eps = 1e-9

func seq(from, to int) []float64 {
	var out []float64
	for i := from; i <= to; i++ {
		out = append(out, float64(i))
	}
	return out
}

func TestDescribeOneToHundred(t *testing.T) {
	x := seq(1, 100)
	// Shuffle deterministically: Describe must sort.
	for i := range x {
		j := (i * 37) % len(x)
		x[i], x[j] = x[j], x[i]
	}
	before := append([]float64(nil), x...)
	s := Describe(x)
	require.NotNil(t, s)
	assert.Equal(t, before, x, "the input is not modified")
	assert.Equal(t, 100, s.N)
	assert.InDelta(t, 50.5, s.Mean, eps)
	assert.InDelta(t, 1, s.Min, eps)
	assert.InDelta(t, 100, s.Max, eps)
	// numpy.percentile(range(1, 101), [50, 90, 95, 99])
	assert.InDelta(t, 50.5, s.P50, eps)
	assert.InDelta(t, 90.1, s.P90, eps)
	assert.InDelta(t, 95.05, s.P95, eps)
	assert.InDelta(t, 99.01, s.P99, eps)
	// Sample stddev of 1..n is sqrt(n(n+1)/12): numpy.std(x, ddof=1) = 29.011491975882016.
	assert.InDelta(t, math.Sqrt(100*101/12.0), s.Stddev, eps)
	assert.InDelta(t, 29.011491975882016, s.Stddev, eps)
}

func TestDescribeSmallSamples(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		assert.Nil(t, Describe(nil))
		assert.Nil(t, Describe([]float64{}))
		assert.Nil(t, Describe([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}), "only non-finite values")
	})
	t.Run("one", func(t *testing.T) {
		assert.Equal(t, &Summary{Mean: 2.5, Min: 2.5, Max: 2.5, P50: 2.5, P90: 2.5, P95: 2.5, P99: 2.5, N: 1}, Describe([]float64{2.5}),
			"every figure is the value, stddev 0")
	})
	t.Run("two", func(t *testing.T) {
		s := Describe([]float64{3, 1})
		require.NotNil(t, s)
		assert.Equal(t, 2, s.N)
		assert.InDelta(t, 2, s.Mean, eps)
		assert.InDelta(t, 1, s.Min, eps)
		assert.InDelta(t, 3, s.Max, eps)
		assert.InDelta(t, math.Sqrt2, s.Stddev, eps, "n-1: sqrt(((1-2)²+(3-2)²)/1)")
		assert.InDelta(t, 2, s.P50, eps)
		assert.InDelta(t, 2.8, s.P90, eps)
		assert.InDelta(t, 2.9, s.P95, eps)
		assert.InDelta(t, 2.98, s.P99, eps)
	})
	t.Run("stddev", func(t *testing.T) {
		// numpy.std([2, 4, 4, 4, 5, 5, 7, 9], ddof=1) = 2.138089935299395
		s := Describe([]float64{2, 4, 4, 4, 5, 5, 7, 9})
		require.NotNil(t, s)
		assert.InDelta(t, 5, s.Mean, eps)
		assert.InDelta(t, 2.138089935299395, s.Stddev, eps)
		assert.InDelta(t, 4.5, s.P50, eps)
		// h = 7·0.9 = 6.3 → 7 + 0.3·(9-7)
		assert.InDelta(t, 7.6, s.P90, eps)
	})
	t.Run("constant", func(t *testing.T) {
		s := Describe([]float64{0.1, 0.1, 0.1})
		require.NotNil(t, s)
		assert.InDelta(t, 0, s.Stddev, 1e-15)
		assert.InDelta(t, 0.1, s.P99, 1e-15)
	})
	t.Run("non-finite values are left out", func(t *testing.T) {
		s := Describe([]float64{math.NaN(), 1, math.Inf(1), 3, math.Inf(-1)})
		require.NotNil(t, s)
		assert.Equal(t, 2, s.N)
		assert.InDelta(t, 2, s.Mean, eps)
		_, err := json.Marshal(s)
		assert.NoError(t, err)
	})
}

func TestPercentile(t *testing.T) {
	x := []float64{15, 20, 35, 40, 50}
	for _, tc := range []struct{ p, want float64 }{
		{0, 15}, {100, 50}, {-5, 15}, {150, 50},
		{50, 35},
		{25, 20}, // h = 1
		{40, 29}, // h = 1.6 → 20 + 0.6·15
		{10, 17}, // h = 0.4 → 15 + 0.4·5
		{99, 49.6},
	} {
		assert.InDelta(t, tc.want, Percentile(x, tc.p), eps, "p%v", tc.p)
	}
	assert.Equal(t, 0.0, Percentile(nil, 50))
	assert.InDelta(t, 7, Percentile([]float64{7}, 99), eps)
}

func TestSummaryJSONNames(t *testing.T) {
	b, err := json.Marshal(Summary{Mean: 1, Min: 2, Max: 3, Stddev: 4, P50: 5, P90: 6, P95: 7, P99: 8, N: 9})
	require.NoError(t, err)
	var m map[string]float64
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, map[string]float64{"mean": 1, "min": 2, "max": 3, "stddev": 4, "p50": 5, "p90": 6, "p95": 7, "p99": 8, "n": 9}, m)
}

// Two-sided 95% critical values of Student's t (the 0.975 quantile), as
// scipy.stats.t.ppf(0.975, df) gives them, rounded to 6 decimals.
var tTable = []struct {
	df   int
	want float64
}{
	{1, 12.706205}, {2, 4.302653}, {3, 3.182446}, {4, 2.776445}, {5, 2.570582},
	{9, 2.262157}, {10, 2.228139}, {20, 2.085963}, {29, 2.045230}, {30, 2.042272},
	{60, 2.000298}, {100, 1.983972}, {1000, 1.962339},
}

func TestT95Table(t *testing.T) {
	for _, tc := range tTable {
		assert.InDelta(t, tc.want, T95(tc.df), 1e-6, "df %d", tc.df)
	}
	// The values of the brief, to the 3 decimals of printed tables.
	assert.InDelta(t, 4.303, T95(2), 5e-4)
	assert.InDelta(t, 2.262, T95(9), 5e-4)
	assert.InDelta(t, 2.045, T95(29), 5e-4)
	assert.InDelta(t, 1.960, T95(1_000_000), 5e-4)
	assert.InDelta(t, z975, T95(math.MaxInt32), 1e-8, "the normal limit")
	assert.True(t, math.IsInf(T95(0), 1))
}

// tDensity is Student's t density with df degrees of freedom.
func tDensity(x, df float64) float64 {
	lg1, _ := math.Lgamma((df + 1) / 2)
	lg2, _ := math.Lgamma(df / 2)
	return math.Exp(lg1-lg2-0.5*math.Log(df*math.Pi)) * math.Pow(1+x*x/df, -(df+1)/2)
}

// TestT95IntegratesTo95Percent checks T95 independently of the incomplete
// beta function: the density integrated (Simpson's rule) from -t to t is 0.95.
func TestT95IntegratesTo95Percent(t *testing.T) {
	for _, df := range []int{1, 2, 3, 7, 15, 31, 64, 200, 999, 1000, 1001, 5000, 100000} {
		tc := T95(df)
		const n = 20000
		h := tc / n
		sum := tDensity(0, float64(df)) + tDensity(tc, float64(df))
		for i := 1; i < n; i++ {
			w := 2.0
			if i%2 == 1 {
				w = 4
			}
			sum += w * tDensity(float64(i)*h, float64(df))
		}
		assert.InDelta(t, 0.95, 2*sum*h/3, 1e-9, "df %d", df)
	}
}

func TestT95IsDecreasingAndContinuousAtTheSwitch(t *testing.T) {
	prev := math.Inf(1)
	for df := 1; df <= 1200; df++ {
		v := T95(df)
		require.Less(t, v, prev, "df %d", df)
		require.Greater(t, v, z975, "df %d", df)
		prev = v
	}
	// Both methods agree where T95 switches from one to the other.
	assert.InDelta(t, cornishFisher(z975, exactDFLimit), T95(exactDFLimit), 1e-12)
	assert.InDelta(t, cornishFisher(z975, 200), T95(200), 1e-9)
}

func TestMeanCI95(t *testing.T) {
	t.Run("known sample", func(t *testing.T) {
		// 1..10: mean 5.5, s = sqrt(110/12), t(9) = 2.262157.
		mean, lo, hi := MeanCI95(seq(1, 10))
		assert.InDelta(t, 5.5, mean, eps)
		half := 2.262157 * math.Sqrt(110.0/12) / math.Sqrt(10)
		assert.InDelta(t, 5.5-half, lo, 1e-5)
		assert.InDelta(t, 5.5+half, hi, 1e-5)
		// scipy.stats.t.interval(0.95, 9, loc=5.5, scale=sem(1..10)) = (3.334149, 7.665851)
		assert.InDelta(t, 3.334149, lo, 1e-5)
		assert.InDelta(t, 7.665851, hi, 1e-5)
	})
	t.Run("three values", func(t *testing.T) {
		mean, lo, hi := MeanCI95([]float64{1, 2, 3})
		// s = 1, t(2) = 4.302653: 2 ± 4.302653/√3
		assert.InDelta(t, 2, mean, eps)
		assert.InDelta(t, 2-4.302653/math.Sqrt(3), lo, 1e-6)
		assert.InDelta(t, 2+4.302653/math.Sqrt(3), hi, 1e-6)
	})
	t.Run("thirty values", func(t *testing.T) {
		mean, lo, hi := MeanCI95(seq(1, 30))
		half := 2.045230 * math.Sqrt(30*31/12.0) / math.Sqrt(30)
		assert.InDelta(t, 15.5, mean, eps)
		assert.InDelta(t, half, hi-mean, 1e-5)
		assert.InDelta(t, half, mean-lo, 1e-5)
	})
	t.Run("large sample tends to the normal interval", func(t *testing.T) {
		x := make([]float64, 100000)
		for i := range x {
			x[i] = float64(i % 2) // mean 0.5, s ≈ 0.5
		}
		mean, lo, hi := MeanCI95(x)
		sd := Describe(x).Stddev
		assert.InDelta(t, 0.5, mean, eps)
		assert.InDelta(t, 1.96*sd/math.Sqrt(float64(len(x))), hi-mean, 1e-5)
		assert.Less(t, lo, mean)
	})
	t.Run("degenerate", func(t *testing.T) {
		m, lo, hi := MeanCI95([]float64{4})
		assert.Equal(t, []float64{4, 4, 4}, []float64{m, lo, hi})
		m, lo, hi = MeanCI95(nil)
		assert.Equal(t, []float64{0, 0, 0}, []float64{m, lo, hi})
		m, lo, hi = MeanCI95([]float64{2, 2, 2})
		assert.Equal(t, []float64{2, 2, 2}, []float64{m, lo, hi}, "no spread, no interval")
	})
}

func TestRegIncBeta(t *testing.T) {
	// I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1-x)^b; symmetry.
	for _, x := range []float64{0.01, 0.3, 0.5, 0.77, 0.99} {
		assert.InDelta(t, x, regIncBeta(1, 1, x), 1e-13)
		assert.InDelta(t, math.Pow(x, 3.5), regIncBeta(3.5, 1, x), 1e-13)
		assert.InDelta(t, 1-math.Pow(1-x, 2.5), regIncBeta(1, 2.5, x), 1e-13)
		assert.InDelta(t, 1-regIncBeta(0.5, 7, 1-x), regIncBeta(7, 0.5, x), 1e-13)
	}
	assert.Equal(t, 0.0, regIncBeta(2, 3, 0))
	assert.Equal(t, 1.0, regIncBeta(2, 3, 1))
	vals := []float64{}
	for x := 0.05; x < 1; x += 0.05 {
		vals = append(vals, regIncBeta(4.5, 0.5, x))
	}
	assert.True(t, sort.Float64sAreSorted(vals), "increasing in x")
}
