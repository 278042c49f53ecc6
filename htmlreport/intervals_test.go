package htmlreport_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
)

// streamedRec is a successful streamed request sent at from whose content
// chunks arrive from first, every 20 ms, for gen seconds.
func streamedRec(pass record.Pass, index int, from, first, gen float64) record.Request {
	r := withTTFT(rec(pass, index, from, first+gen+0.01), first-from)
	for range int(gen / 0.02) {
		r.ChunkGapsSeconds = append(r.ChunkGapsSeconds, 0.02)
	}
	return r
}

// serialStreams is a run against a server that serves one request at a
// time: in the concurrent pass, the requests sent together generate one
// after another.
func serialStreams(n int) report.Document {
	var seq, conc []record.Request
	for i := range n {
		seq = append(seq, streamedRec(record.PassSequential, i, float64(i)*1.2, float64(i)*1.2+0.1, 1))
		conc = append(conc, streamedRec(record.PassConcurrent, i, 20, 20.1+float64(i)*1.1, 1))
	}
	return build(seq, conc)
}

func TestIntervalCharts(t *testing.T) {
	page := renderString(t, serialStreams(5), htmlreport.Options{})
	es := elements(page)
	charts := find(es, "svg", "intervals")
	require.Len(t, charts, 2, "one chart per streamed pass")
	for _, c := range charts {
		assert.Equal(t, "1", c.attrs["data-max"], "no two generation intervals overlap: %s", c.attrs["data-pass"])
		assert.Equal(t, "true", c.attrs["data-available"])
	}
	assert.Len(t, find(es, "rect", "gen", "data-pass", string(record.PassConcurrent)), 5)
	assert.Len(t, find(es, "polyline", "level"), 2)
	assert.Len(t, find(es, "line", "level-max"), 2)

	// All at once: the level reaches 5.
	var conc []record.Request
	for i := range 5 {
		conc = append(conc, streamedRec(record.PassConcurrent, i, 20, 20.1, 1))
	}
	d := build(nil, conc)
	c := find(elements(renderString(t, d, htmlreport.Options{})), "svg", "intervals")
	require.Len(t, c, 1)
	assert.Equal(t, "5", c[0].attrs["data-max"])
}

// A pass that was not streamed has no interval chart; one whose streams
// cannot decide says why.
func TestIntervalChartsOnlyWhenStreamed(t *testing.T) {
	assert.Empty(t, find(elements(renderString(t, staircase(4), htmlreport.Options{})), "svg", "intervals"))
	var conc []record.Request
	for i := range 3 {
		conc = append(conc, withTTFT(rec(record.PassConcurrent, i, 0, 1), 0.9)) // one chunk each
	}
	page := renderString(t, build(nil, conc), htmlreport.Options{})
	assert.Contains(t, page, "Not used as evidence")
	assert.Empty(t, find(elements(page), "svg", "intervals"), "no interval to draw")
}

func TestRepeatTable(t *testing.T) {
	docs := []report.Document{serialStreams(3), serialStreams(3), serialStreams(3)}
	for i := range docs {
		docs[i].WorkflowID = "r" + strconv.Itoa(i+1)
		if i == 1 {
			docs[i].Config.Order = "concurrent_first"
		}
	}
	last := docs[2]
	report.AddRepeat(&last, docs)
	page := renderString(t, last, htmlreport.Options{})
	rows := find(elements(page), "tr", "repeat-run")
	assert.Len(t, rows, 3)
	assert.Contains(t, page, "Concurrent pass first")
	assert.True(t, strings.Contains(page, "<td>concurrent</td>"), "the second run's first pass")
}
