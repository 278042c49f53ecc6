package analysis_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llmconc/llmconc/analysis"
	"github.com/llmconc/llmconc/record"
)

// TestWorkerLossMakesTheVerdictInconclusive: a concurrent pass that a lost
// worker's retried batch finished late would otherwise show a speedup made
// of Temporal's recovery time. The summary counts the late requests and
// those sent twice, and the verdict refuses to judge.
func TestWorkerLossMakesTheVerdictInconclusive(t *testing.T) {
	var seqRecs, concRecs []record.Request
	for i := range 6 {
		seqRecs = append(seqRecs, sent(float64(i)*2.1, float64(i)*2.1+2))
		r := sent(30, 32)
		r.ActivityAttempt = 1
		if i >= 3 { // sent by the retry, 12 s later; two of them a second time
			r = sent(42, 44)
			r.ActivityAttempt, r.Resent = 2, i < 5
		}
		concRecs = append(concRecs, r)
	}
	seq, conc := analysis.Summarize(seqRecs), analysis.Summarize(concRecs)
	assert.Zero(t, seq.SentAfterWorkerLoss)
	assert.Equal(t, 3, conc.SentAfterWorkerLoss)
	assert.Equal(t, 2, conc.ResentAfterWorkerLoss)
	assert.Equal(t, 6, conc.Successful+conc.Failed, "each request counted once")

	cmp := analysis.Compare(seq, conc)
	got := analysis.Conclude(&seq, &conc, &cmp, 6, 6)
	assert.Equal(t, analysis.VerdictInconclusive, got.Verdict)
	assert.Contains(t, got.Text, "Temporal retried a batch of the concurrent pass (a worker was lost, or could not run it)")
	assert.Contains(t, got.Text, "3 requests late (2 of them a second time")

	// The same pass without the loss gets a verdict.
	for i := range concRecs {
		concRecs[i] = sent(30, 32)
	}
	conc = analysis.Summarize(concRecs)
	cmp = analysis.Compare(seq, conc)
	assert.Equal(t, analysis.VerdictConcurrent, analysis.Conclude(&seq, &conc, &cmp, 6, 6).Verdict)
}
