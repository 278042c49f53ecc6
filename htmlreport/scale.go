package htmlreport

import (
	"math"
	"strconv"
)

// num formats a coordinate: rounded to 1/100 of a user unit, shortest form,
// so that the output is small and the same on every machine.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// finite returns v, or 0 when v is NaN or infinite.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// niceStep returns a round step (1, 2, 2.5 or 5 × 10^k) that cuts span into
// about target intervals.
func niceStep(span float64, target int) float64 {
	if !(span > 0) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(target)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// niceCeil returns the smallest multiple of a round step that is at least v,
// and that step: an axis from 0 to it ends on a tick.
func niceCeil(v float64, target int) (top, step float64) {
	step = niceStep(v, target)
	top = math.Ceil(v/step-1e-9) * step
	if top <= 0 {
		top = step
	}
	return top, step
}

// decimals is how many decimals the labels of ticks step apart need.
func decimals(step float64) int {
	d := 0
	for d < 6 {
		scaled := step * math.Pow(10, float64(d))
		if math.Abs(scaled-math.Round(scaled)) < 1e-6 {
			break
		}
		d++
	}
	return d
}

// tickValues returns the multiples of step from lo to hi (both included,
// within rounding).
func tickValues(lo, hi, step float64) []float64 {
	var out []float64
	first := math.Ceil(lo/step - 1e-9)
	for k := first; k*step <= hi*(1+1e-9)+1e-12 && len(out) < 100; k++ {
		out = append(out, k*step)
	}
	return out
}

// formatTick formats a tick's value with the decimals of its step.
func formatTick(v, step float64) string {
	if math.Abs(v) < step*1e-9 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', decimals(step), 64)
}

// ticks returns the positions (by pos) and labels of the ticks of an axis
// from lo to hi, step apart.
func ticks(lo, hi, step float64, pos func(float64) float64) (ps []float64, labels []string) {
	for _, v := range tickValues(lo, hi, step) {
		ps = append(ps, pos(v))
		labels = append(labels, formatTick(v, step))
	}
	return ps, labels
}
