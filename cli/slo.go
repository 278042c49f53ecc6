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

// withSLO is a finished run's outcome with its objectives replaced by those
// of `starter result -slo` (none: the run's own stay), checked against the
// run: a run not streamed has no TTFT or TPOT to bound.
func withSLO(o outcome, workflowID string, slo *analysis.SLO) (outcome, error) {
	if slo == nil {
		return o, nil
	}
	result, err := o.decode(workflowID)
	if err != nil {
		return o, err
	}
	if err := testrun.CheckSLO(slo, result.Config.Stream); err != nil {
		return o, badInput("run %s: %v", workflowID, err)
	}
	result.Config.SLO = slo
	return outcome{result, nil}, nil
}
