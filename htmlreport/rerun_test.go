package htmlreport_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/record"
	"github.com/llmconc/llmconc/report"
)

// TestRerunOfFailedRequests: the merged report of a rerun says it is one,
// names the original run, keeps the original's timelines to its own
// records, and draws the resent requests on a timeline of their own.
func TestRerunOfFailedRequests(t *testing.T) {
	seq := []record.Request{rec("sequential", 0, 0, 2), failed(rec("sequential", 1, 2, 2.1), 500, "boom"), rec("sequential", 2, 2.1, 4)}
	conc := []record.Request{rec("concurrent", 0, 10, 12), rec("concurrent", 1, 10, 12.5), failed(rec("concurrent", 2, 10, 10.2), 503, "busy")}
	base := build(seq, conc)
	base.WorkflowID = "original-run"
	// An hour later, the rerun resends the two failures.
	again := build([]record.Request{rec("sequential", 1, 3600, 3601)}, []record.Request{rec("concurrent", 2, 3602, 3603)})
	again.WorkflowID = "the-rerun"
	merged := report.Merge(base, again)
	page := renderString(t, merged, htmlreport.Options{})

	banner := regexp.MustCompile(`<p class="rerun-banner">([^<]*)</p>`).FindStringSubmatch(page)
	if banner == nil || !strings.Contains(banner[1], "original-run") || !strings.Contains(banner[1], "the-rerun") || !strings.Contains(banner[1], "2 requests") {
		t.Fatalf("no rerun banner naming both runs and the 2 resent requests: %v", banner)
	}
	requests := func(pass string) string {
		m := regexp.MustCompile(`<svg class="chart waterfall" data-pass="` + pass + `"[^>]*data-requests="(\d+)"`).FindStringSubmatch(page)
		if m == nil {
			return "none"
		}
		return m[1]
	}
	for pass, want := range map[string]string{"sequential": "2", "concurrent": "2", "sequential-resent": "1", "concurrent-resent": "1"} {
		if got := requests(pass); got != want {
			t.Errorf("waterfall %s draws %s requests, want %s", pass, got, want)
		}
	}
	// The resent requests' axis is their own: seconds, not an hour.
	if strings.Contains(page, "3600") || strings.Contains(page, "1h") {
		t.Errorf("a resent request is drawn on the original run's time axis (an hour away)")
	}

	// A report that is no rerun has no banner.
	if strings.Contains(renderString(t, base, htmlreport.Options{}), "rerun-banner\">") {
		t.Errorf("a plain run's report shows the rerun banner")
	}
}

// TestMeanLatencyNAWithoutSuccess: a pass with no successful request has no
// mean latency to show.
func TestMeanLatencyNAWithoutSuccess(t *testing.T) {
	seq := []record.Request{failed(rec("sequential", 0, 0, 1), 500, "boom"), failed(rec("sequential", 1, 1, 2), 500, "boom")}
	page := renderString(t, build(seq, nil), htmlreport.Options{})
	if !strings.Contains(page, "mean latency n/a") || strings.Contains(page, "mean latency 0") {
		t.Errorf("the pass with no success shows a mean latency other than n/a")
	}
}
