package history

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llmconc/llmconc/activities"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/testrun"
)

func TestMergeRecords(t *testing.T) {
	rec := func(pass record.Pass, index int, errText string) record.Request {
		return record.Request{Pass: pass, Index: index, Error: errText}
	}
	r := testrun.Result{
		Sequential: &testrun.PassResult{Pass: record.PassSequential,
			Records: []record.Request{rec(record.PassSequential, 1, "the worker could not run the request")}},
		Concurrent: &testrun.PassResult{Pass: record.PassConcurrent},
	}
	outputs := []activities.SendOutput{
		{Records: []record.Request{rec(record.PassSequential, 2, ""), rec(record.PassSequential, 0, "")}},
		{Records: []record.Request{rec(record.PassConcurrent, 1, ""), rec(record.PassConcurrent, 0, "")}},
		// The same request reported twice counts once; the first report wins.
		{Records: []record.Request{rec(record.PassConcurrent, 1, "duplicate")}},
	}
	MergeRecords(&r, outputs)
	assert.Equal(t, []int{0, 1, 2}, indexes(r.Sequential.Records))
	assert.Equal(t, "the worker could not run the request", r.Sequential.Records[1].Error, "the workflow's own record stays")
	assert.Equal(t, []int{0, 1}, indexes(r.Concurrent.Records))
	assert.Empty(t, r.Concurrent.Records[1].Error, "a duplicate report is ignored")

	one := testrun.Result{Sequential: &testrun.PassResult{Pass: record.PassSequential}}
	MergeRecords(&one, outputs)
	assert.Equal(t, []int{0, 2}, indexes(one.Sequential.Records), "records of a pass that did not run are dropped")
}

func indexes(recs []record.Request) []int {
	var out []int
	for _, r := range recs {
		out = append(out, r.Index)
	}
	return out
}
