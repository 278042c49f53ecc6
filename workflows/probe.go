package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// ConcurrencyProbe is the workflow of `starter probe`: it finds the key's
// limits in one durable run. After the warm-up it sends one concurrent
// pass per level of in.Sweep (1, 2, 4, … up to the probe's
// -max-concurrency), each exactly as ConcurrencyTest sends its concurrent
// pass, and stops early once a level is clearly past the limit
// (analysis.ProbeStop). Between levels it waits, bounded, for the
// rate-limit window to reset when the last level's headers say the next
// level would not fit in it (analysis.ProbeWait). Its result is a sweep's,
// with Result.Probe; the report sums the levels up.
func ConcurrencyProbe(ctx workflow.Context, in testrun.Input) (testrun.Result, error) {
	in, err := checkInput(ctx, in)
	if err == nil && in.Probe == nil {
		err = errors.New("the input has no probe settings: start a probe with `starter probe`")
	}
	if err != nil {
		return testrun.Result{}, temporal.NewNonRetryableApplicationError(err.Error(), InvalidInputErrorType, nil)
	}
	st := newState(ctx, in)
	st.result.Probe = &testrun.ProbeOutcome{}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, st.query); err != nil {
		return testrun.Result{}, fmt.Errorf("register the progress query: %w", err)
	}
	if err := st.describeEndpoint(ctx); err != nil {
		return testrun.Result{}, err
	}
	deadline := st.result.StartedAt.Add(in.Timeout)
	st.passes(ctx, deadline) // the warm-up only: a probe has no sequential or concurrent pass
	st.probe(ctx, deadline)
	return st.end(ctx)
}

// probe sends the levels in order until one is past the limit, the run's
// -timeout comes, or the run is aborted.
func (st *state) probe(ctx workflow.Context, deadline time.Time) {
	levels := st.in.Sweep
	baseline := 0.0
	for i, level := range levels {
		if st.result.Aborted != "" {
			break
		}
		pass := record.SweepPass(level)
		st.enter(ctx, string(pass))
		fireAt, shards := st.concurrent(ctx, deadline, pass, level)
		pr := st.finishPass(pass, fireAt, shards)
		pr.Concurrency = level
		st.result.Sweep = append(st.result.Sweep, pr)
		if baseline == 0 {
			baseline = analysis.ProbeBaseline(pr.Summary)
		}
		if i+1 == len(levels) {
			return
		}
		if why := analysis.ProbeStop(analysis.ProbeLevelOf(level, pr.Summary, baseline)); why != "" {
			st.stopProbe(i, why)
			return
		}
		next := levels[i+1]
		wait, why := analysis.ProbeWait(st.records[pass], st.in.Probe.RequestsAt(next), st.in.Probe.MaxWait)
		if wait <= 0 {
			continue
		}
		if !workflow.Now(ctx).Add(wait).Before(deadline) {
			st.stopProbe(i, fmt.Sprintf("the rate-limit window resets after the run's -timeout (%s)", why))
			return
		}
		st.result.Probe.Waits = append(st.result.Probe.Waits, testrun.ProbeWait{Before: next, Seconds: wait.Seconds(), Why: why})
		if err := workflow.Sleep(ctx, wait); err != nil {
			return
		}
	}
}

// stopProbe ends the probe after level i: the query shows only the levels
// sent, and the result says why it stopped.
func (st *state) stopProbe(i int, why string) {
	st.result.Probe.Stopped = why
	st.in.Sweep = st.in.Sweep[:i+1]
}
