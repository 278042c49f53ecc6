package testrun

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/llmconc/llmconc/analysis"
)

// MaxSLO bounds each objective of -slo: a longer one is surely a typo.
const MaxSLO = 24 * time.Hour

// ParseSLO reads -slo's objectives, such as "ttft=500ms,tpot=50ms,latency=5s"
// (any of them, each once, in any order; durations as Go writes them). An
// empty string sets none (nil). Its errors are one line, to follow the
// flag's name.
func ParseSLO(s string) (*analysis.SLO, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var slo analysis.SLO
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(entry), "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return nil, fmt.Errorf("%q is not name=duration (objectives such as ttft=500ms,tpot=50ms,latency=5s)", strings.TrimSpace(entry))
		}
		var field *float64
		switch key {
		case analysis.ObjectiveTTFT:
			field = &slo.TTFTSeconds
		case analysis.ObjectiveTPOT:
			field = &slo.TPOTSeconds
		case analysis.ObjectiveLatency:
			field = &slo.LatencySeconds
		default:
			return nil, fmt.Errorf("unknown objective %q (the objectives are ttft, tpot and latency)", key)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s is set twice", key)
		}
		seen[key] = true
		d, err := time.ParseDuration(value)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: not a duration (such as 500ms or 2s)", key, value)
		}
		if d <= 0 || d > MaxSLO {
			return nil, fmt.Errorf("%s=%s: must be positive and at most %s", key, value, MaxSLO)
		}
		*field = d.Seconds()
	}
	return &slo, nil
}

// sloError checks the objectives of -slo: each finite, not negative and at
// most MaxSLO, at least one set; TTFT and TPOT are measured only on
// streamed responses.
func (in Input) sloError() error {
	return CheckSLO(in.SLO, in.Stream)
}

// CheckSLO checks objectives (nil: none) for a run that streams or not.
func CheckSLO(s *analysis.SLO, stream bool) error {
	if s == nil {
		return nil
	}
	for _, v := range []float64{s.TTFTSeconds, s.TPOTSeconds, s.LatencySeconds} {
		if math.IsNaN(v) || v < 0 || v > MaxSLO.Seconds() {
			return fmt.Errorf("-slo objectives must be positive and at most %s, got %v s", MaxSLO, v)
		}
	}
	switch {
	case s.TTFTSeconds == 0 && s.TPOTSeconds == 0 && s.LatencySeconds == 0:
		return fmt.Errorf("-slo sets no objective")
	case !stream && (s.TTFTSeconds > 0 || s.TPOTSeconds > 0):
		return fmt.Errorf("-slo ttft and tpot are measured on streamed responses only: drop -stream=false, or keep only latency")
	}
	return nil
}
