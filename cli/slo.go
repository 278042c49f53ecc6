package cli

import (
	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/testrun"
)

// sloFlag is -slo: the objectives, read and checked as the flag is parsed
// (testrun.ParseSLO), so that a bad list is refused with the other flags.
type sloFlag struct {
	text string
	slo  *analysis.SLO
}

func (f *sloFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

func (f *sloFlag) Set(s string) error {
	slo, err := testrun.ParseSLO(s)
	if err != nil {
		return err
	}
	f.text, f.slo = s, slo
	return nil
}
