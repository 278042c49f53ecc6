package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

// warmupMaxTokens bounds a warm-up request's max_tokens: it is there to
// load the model and open the connection, not to measure.
const warmupMaxTokens = 16

// versionWarmupOrder is the change ID of the warm-up and of the pass order.
// Runs recorded before them (no marker) replay without a warm-up,
// sequential pass first.
const versionWarmupOrder = "warmup-and-pass-order"

// WarmupPrompt is the prompt of warm-up request k (from 0): unlike any
// measured prompt, so that a server's prompt cache gives no measured
// request a head start.
func WarmupPrompt(k int) string {
	return fmt.Sprintf("Warm-up request %d, not measured: reply with one short sentence.", k+1)
}

// warmup sends in.Warmup unmeasured requests one after another before the
// first measured pass. A fatal answer (a rejected key, an unknown model)
// ends the run there, before anything is measured. When streaming was the
// default rather than asked for (StreamAuto) and every warm-up answer was
// not an event stream, the run goes on without streaming and says so.
func (st *state) warmup(ctx workflow.Context, deadline time.Time) {
	var recs []record.Request
	for k := range st.in.Warmup {
		spec := activities.RequestSpec{Index: k, Prompt: WarmupPrompt(k)}
		if why := st.notSending(ctx, deadline); why != "" {
			recs = append(recs, notSent(record.PassWarmup, spec, st.in.Model, why))
			continue
		}
		actx := workflow.WithActivityOptions(ctx, st.activityOptions(ctx, deadline, fmt.Sprintf("warm-up #%d (not measured)", k+1), 1, 0))
		var out activities.SendOutput
		err := execute(ctx, actx, activities.SendActivity, activities.SendInput{
			Endpoint:       st.in.Endpoint,
			Pass:           record.PassWarmup,
			Requests:       []activities.RequestSpec{spec},
			Model:          st.in.Model,
			MaxTokens:      min(st.in.MaxTokens, warmupMaxTokens),
			Concurrency:    1,
			RequestTimeout: st.in.RequestTimeout,
			StopOnFatal:    true,
			Stream:         st.stream,
		}, &out)
		if err != nil {
			recs = append(recs, notSent(record.PassWarmup, spec, st.in.Model, "the worker could not run the warm-up request: "+err.Error()))
			continue
		}
		recs = append(recs, out.Records...)
		if fatal := firstFatal(out.Records); fatal != nil {
			st.result.Aborted = "at the warm-up, before anything was measured: " + record.FatalReason(*fatal)
			if st.stream && fatal.HTTPStatus == 400 {
				st.result.Aborted += " (the request was streamed: if the endpoint does not stream, run with -stream=false)"
			}
			break
		}
	}
	recs = testrun.CollapseAttempts(recs)
	st.result.Warmup = &testrun.PassResult{Pass: record.PassWarmup, Shards: len(recs), Summary: analysis.Summarize(recs)}
	// The records stay in the batches' results in the history, like the
	// passes'; only those no batch reported are kept here.
	for _, rec := range recs {
		if rec.SentAt.IsZero() {
			st.result.Warmup.Records = append(st.result.Warmup.Records, rec)
		}
	}
	st.stopStreamingIfUnsupported(recs)
}

// stopStreamingIfUnsupported turns streaming off for the rest of the run
// when it was the default rather than asked for (StreamAuto) and every
// warm-up answer in recs was not an event stream, and says so.
func (st *state) stopStreamingIfUnsupported(recs []record.Request) {
	if !st.stream || !st.in.StreamAuto || len(recs) == 0 || st.result.Aborted != "" {
		return
	}
	for _, rec := range recs {
		if !notAStream(rec) {
			return
		}
	}
	st.stream = false
	st.result.Config.Stream = false
	st.result.StreamOff = "the endpoint answered the streamed warm-up with a response that is not an event stream, so the run measured without streaming (the server's concurrency cannot be observed; the verdict rests on the speedup)"
}

func firstFatal(recs []record.Request) *record.Request {
	for i := range recs {
		if recs[i].Fatal() {
			return &recs[i]
		}
	}
	return nil
}

// notAStream reports whether a streamed request's answer was a 200 that was
// no event stream: the endpoint ignores "stream": true.
func notAStream(rec record.Request) bool {
	return !rec.OK && rec.HTTPStatus == 200 && rec.ErrorKind == record.ErrorKindMalformedResponse &&
		strings.Contains(rec.Error, "not text/event-stream")
}
