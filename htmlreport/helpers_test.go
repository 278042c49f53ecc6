package htmlreport_test

import (
	"bytes"
	"encoding/json"
	"html"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/testrun"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ts(sec float64) time.Time {
	return start.Add(time.Duration(sec * float64(time.Second)))
}

// rec is a successful request of pass sent at from and answered at to
// (seconds after start).
func rec(pass record.Pass, index int, from, to float64) record.Request {
	return record.Request{
		Index: index, Pass: pass, Prompt: "prompt " + strconv.Itoa(index), SentAt: ts(from), ReceivedAt: ts(to),
		LatencySeconds: to - from, OK: true, HTTPStatus: 200, Attempt: 1,
		PromptTokens: 12, CompletionTokens: 34, Model: "test-model", Response: "an answer",
	}
}

// failed makes r a failure with the given status and error.
func failed(r record.Request, status int, msg string) record.Request {
	r.OK, r.HTTPStatus, r.Error, r.CompletionTokens, r.Response = false, status, msg, 0, ""
	return r
}

// notSent is a request that was never sent (the run's timeout had passed).
func notSent(pass record.Pass, index int) record.Request {
	return record.Request{Index: index, Pass: pass, Prompt: "never sent", Error: "not sent: the run's timeout passed"}
}

func withTTFT(r record.Request, ttft float64) record.Request {
	r.Stream = true
	r.TTFTSeconds = &ttft
	return r
}

// build makes the document of a run with these records, as the starter does.
func build(seq, conc []record.Request) report.Document {
	n := max(len(seq), len(conc))
	res := testrun.Result{
		Config: testrun.Input{
			Requests: n, Model: "test-model", MaxTokens: 100, Concurrency: n, Passes: testrun.PassesBoth,
			PromptsSource: "built-in list", RequestTimeout: 2 * time.Minute, Timeout: 30 * time.Minute, MaxShards: 50,
		},
		Endpoint:   record.Endpoint{BaseURL: "https://api.openai.com/v1", Label: "test endpoint"},
		StartedAt:  start,
		FinishedAt: start.Add(time.Hour),
	}
	if seq != nil {
		res.Sequential = &testrun.PassResult{Pass: record.PassSequential, Shards: len(seq), Records: seq}
	}
	if conc != nil {
		res.Concurrent = &testrun.PassResult{Pass: record.PassConcurrent, Shards: len(conc), Records: conc}
	}
	return report.Build("wf-id", "run-id", res)
}

// staircase is n sequential requests of 2 to 3 s one after another, then n
// concurrent ones sent together: an endpoint that serves them concurrently.
func staircase(n int) report.Document {
	var seq, conc []record.Request
	at := 0.0
	for i := range n {
		lat := 2 + float64(i%7)/7
		seq = append(seq, rec(record.PassSequential, i, at, at+lat))
		at += lat + 0.02
		conc = append(conc, rec(record.PassConcurrent, i, 100+float64(i)*1e-4, 100+lat))
	}
	return build(seq, conc)
}

func renderString(t *testing.T, d report.Document, opts htmlreport.Options) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, htmlreport.Render(&b, d, opts))
	return b.String()
}

func loadDocument(t *testing.T, path string) report.Document {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var d report.Document
	require.NoError(t, json.Unmarshal(b, &d))
	return d
}

// element is a start tag of a page: enough of an HTML parser to count the
// chart elements, in the page as written and in the DOM as Chromium dumps it.
type element struct {
	tag   string
	attrs map[string]string
}

func (e element) hasClass(c string) bool {
	for _, x := range strings.Fields(e.attrs["class"]) {
		if x == c {
			return true
		}
	}
	return false
}

func (e element) float(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[name], 64)
	require.NoError(t, err, "attribute %s of <%s %v>", name, e.tag, e.attrs)
	return v
}

var (
	tagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
)

// elements returns the start tags of page, in order.
func elements(page string) []element {
	var out []element
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		e := element{tag: strings.ToLower(m[1]), attrs: map[string]string{}}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			e.attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
		}
		out = append(out, e)
	}
	return out
}

// find returns the elements with the tag and class whose attributes have
// the given values (name, value, name, value...).
func find(es []element, tag, class string, attrs ...string) []element {
	var out []element
next:
	for _, e := range es {
		if e.tag != tag || (class != "" && !e.hasClass(class)) {
			continue
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if e.attrs[attrs[i]] != attrs[i+1] {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// indexes returns the data-index values of es.
func indexes(t *testing.T, es []element) []int {
	t.Helper()
	var out []int
	for _, e := range es {
		i, err := strconv.Atoi(e.attrs["data-index"])
		require.NoError(t, err)
		out = append(out, i)
	}
	return out
}
