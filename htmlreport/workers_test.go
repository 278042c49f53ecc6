package htmlreport_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
)

// TestTimelineColoursRequestsByWorker: when several workers sent the
// requests, each bar carries its worker and its worker's colour, failed
// bars stay red, and the legend has one key per worker with its count;
// with one worker the timeline stays as it was.
func TestTimelineColoursRequestsByWorker(t *testing.T) {
	const a, b = "11@host-a@ endpoints=default", "22@host-b@ endpoints=default"
	var conc []record.Request
	for i := range 6 {
		r := rec(record.PassConcurrent, i, 0, 2)
		r.Worker = a
		if i%3 == 0 {
			r.Worker = b
		}
		if i == 5 {
			r = failed(r, 500, "boom")
		}
		conc = append(conc, r)
	}
	page := renderString(t, build(nil, conc), htmlreport.Options{})
	assert.Contains(t, page, `<span class="key" data-worker="`+a+`"><span class="swatch w0"></span>succeeded, sent by worker 11@host-a@ (4)</span>`)
	assert.Contains(t, page, `<span class="key" data-worker="`+b+`"><span class="swatch w1"></span>succeeded, sent by worker 22@host-b@ (2)</span>`)
	assert.Equal(t, 3, strings.Count(page, `class="req w0"`), "worker a's successful bars")
	assert.Equal(t, 2, strings.Count(page, `class="req w1"`), "worker b's bars")
	assert.Equal(t, 1, strings.Count(page, `class="req failed"`), "a failed bar stays red")
	assert.Equal(t, 6, strings.Count(page, `data-index=`)-strings.Count(page, `class="ttft"`), "one bar per request")
	assert.Contains(t, page, "sent by 2 workers")
	assert.Contains(t, page, "sent by worker 22@host-b@", "a bar's tooltip names its worker")

	for i := range conc {
		conc[i].Worker = a
	}
	one := renderString(t, build(nil, conc), htmlreport.Options{})
	assert.NotContains(t, one, `data-worker=`, "one worker: no colours by worker")
	assert.Contains(t, one, `<span class="key"><span class="swatch ok"></span>succeeded</span>`)
}
