// Package stats holds the descriptive statistics the tool reports: a summary
// of a sample (mean, spread, percentiles) and the 95% confidence interval of
// its mean. Its functions are pure and use only the standard library, so
// workflow code may call them too.
//
// Definitions, for a sample x of n values sorted as x(0) ≤ … ≤ x(n-1):
//
//   - Mean is the arithmetic mean Σx / n.
//   - Stddev is the sample standard deviation, with Bessel's correction:
//     sqrt(Σ(x - mean)² / (n - 1)); 0 for a single value.
//   - The p-th percentile (0 ≤ p ≤ 100) interpolates linearly between the
//     closest ranks, numpy's default ("linear", Hyndman & Fan type 7): with
//     h = (n - 1)·p/100, it is x(⌊h⌋) + (h - ⌊h⌋)·(x(⌊h⌋+1) - x(⌊h⌋)). So P50
//     is the median, P0 the minimum and P100 the maximum; for 1..100, P90 is
//     90.1 and P99 is 99.01.
//   - The 95% confidence interval of the mean is mean ± t·s/√n, where s is
//     the sample standard deviation and t the two-sided 95% critical value of
//     Student's t distribution with n - 1 degrees of freedom (see T95).
//
// NaN and ±Inf values are left out of every computation, so that a summary
// always encodes as JSON.
package stats

import (
	"math"
	"sort"
)

// Summary describes a sample. See the package documentation for the
// definitions.
type Summary struct {
	Mean   float64 `json:"mean"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Stddev float64 `json:"stddev"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	// N is the number of values described.
	N int `json:"n"`
}

// Describe summarizes values. It returns nil when there is no (finite) value.
// values is not modified.
func Describe(values []float64) *Summary {
	x := FiniteSorted(values)
	if len(x) == 0 {
		return nil
	}
	mean, sd := meanStddev(x)
	return &Summary{
		Mean:   mean,
		Min:    x[0],
		Max:    x[len(x)-1],
		Stddev: sd,
		P50:    percentileSorted(x, 50),
		P90:    percentileSorted(x, 90),
		P95:    percentileSorted(x, 95),
		P99:    percentileSorted(x, 99),
		N:      len(x),
	}
}

// Percentile returns the p-th percentile of values (p from 0 to 100, clamped
// to that range) by linear interpolation between the closest ranks, numpy's
// default method. It returns 0 when there is no (finite) value.
func Percentile(values []float64, p float64) float64 {
	x := FiniteSorted(values)
	if len(x) == 0 {
		return 0
	}
	return percentileSorted(x, p)
}

// MeanCI95 returns the mean of values and the two-sided 95% confidence
// interval of the mean under Student's t distribution: mean ± T95(n-1)·s/√n,
// with s the sample standard deviation. With a single value the interval is
// that value (low = high = mean); with none all three are 0.
func MeanCI95(values []float64) (mean, low, high float64) {
	x := FiniteSorted(values)
	n := len(x)
	if n == 0 {
		return 0, 0, 0
	}
	mean, sd := meanStddev(x)
	if n == 1 {
		return mean, mean, mean
	}
	half := T95(n-1) * sd / math.Sqrt(float64(n))
	return mean, mean - half, mean + half
}

// FiniteSorted returns the finite values (no NaN, no ±Inf), sorted, in a new
// slice.
func FiniteSorted(values []float64) []float64 {
	x := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			x = append(x, v)
		}
	}
	sort.Float64s(x)
	return x
}

// meanStddev returns the mean and the sample standard deviation of x (n ≥ 1),
// in two passes for accuracy.
func meanStddev(x []float64) (mean, sd float64) {
	var sum float64
	for _, v := range x {
		sum += v
	}
	mean = sum / float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		d := v - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

// percentileSorted is Percentile over sorted, non-empty x.
func percentileSorted(x []float64, p float64) float64 {
	p = min(max(p, 0), 100)
	h := float64(len(x)-1) * p / 100
	lo := int(math.Floor(h))
	if lo >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[lo] + (h-float64(lo))*(x[lo+1]-x[lo])
}

// z975 is the 0.975 quantile of the standard normal distribution.
const z975 = 1.959963984540054

// exactDFLimit is the largest number of degrees of freedom for which T95
// inverts the t distribution's CDF; above it the Cornish-Fisher expansion is
// off by less than 1e-12.
const exactDFLimit = 1000

// T95 returns the two-sided 95% critical value of Student's t distribution
// with df degrees of freedom: the t with P(|T| ≤ t) = 0.95, that is the 0.975
// quantile (12.706 for df 1, 4.303 for 2, 2.262 for 9, 2.045 for 29, toward
// 1.960 as df grows). For df up to 1000 it solves
// I_x(df/2, 1/2) = 0.05 for x = df/(df+t²) by bisection, where I is the
// regularized incomplete beta function (P(|T| > t) = I_x(df/2, 1/2)); beyond,
// it uses the Cornish-Fisher expansion of the quantile in powers of 1/df,
// whose error there is below 1e-12. df < 1 returns +Inf.
func T95(df int) float64 {
	if df < 1 {
		return math.Inf(1)
	}
	if df > exactDFLimit {
		return cornishFisher(z975, float64(df))
	}
	a := float64(df) / 2
	lo, hi := 0.0, 1.0 // I_x(a, 1/2) grows with x from 0 to 1
	for range 200 {
		mid := (lo + hi) / 2
		if mid <= lo || mid >= hi {
			break
		}
		if regIncBeta(a, 0.5, mid) < 0.05 {
			lo = mid
		} else {
			hi = mid
		}
	}
	x := (lo + hi) / 2
	return math.Sqrt(float64(df) * (1 - x) / x)
}

// cornishFisher is the t quantile for the normal quantile z and df degrees of
// freedom, to the fourth order in 1/df (Abramowitz & Stegun 26.7.5).
func cornishFisher(z, df float64) float64 {
	z2 := z * z
	g1 := (z2 + 1) * z / 4
	g2 := ((5*z2+16)*z2 + 3) * z / 96
	g3 := (((3*z2+19)*z2+17)*z2 - 15) * z / 384
	g4 := ((((79*z2+776)*z2+1482)*z2-1920)*z2 - 945) * z / 92160
	return z + g1/df + g2/(df*df) + g3/(df*df*df) + g4/(df*df*df*df)
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by its
// continued fraction (Numerical Recipes, betai and betacf).
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function by
// the modified Lentz method.
func betaCF(a, b, x float64) float64 {
	const (
		maxIter = 10000
		eps     = 1e-15
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
