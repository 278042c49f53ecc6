package htmlreport

import (
	"fmt"
	"sort"

	"github.com/llmconc/llmconc/analysis"
)

// workerPalette is the number of worker colours (CSS classes w0 … w7, none
// of them the failed bars' red); more workers than that share them.
const workerPalette = 8

// workerKey is one worker in the timeline's legend.
type workerKey struct {
	// Name is the worker's short name (pid@host@), Identity its whole
	// Temporal identity, Class its bars' CSS class.
	Name, Identity, Class string
	Requests              int
}

// workerKeys lists, when more than one worker sent the drawn passes'
// requests, every worker with its colour, by identity; nil otherwise.
func workerKeys(ps []preparedPass) []workerKey {
	counts := map[string]int{}
	for _, pr := range ps {
		for _, t := range pr.ts {
			if t.r.Worker != "" {
				counts[t.r.Worker]++
			}
		}
	}
	if len(counts) < 2 {
		return nil
	}
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	keys := make([]workerKey, len(ids))
	for i, id := range ids {
		keys[i] = workerKey{Name: analysis.WorkerName(id), Identity: id, Class: fmt.Sprintf("w%d", i%workerPalette), Requests: counts[id]}
	}
	return keys
}

// colourByWorker gives each bar of w (drawn from ts, in that order) its
// worker's class.
func colourByWorker(w *waterfall, ts []timed, keys []workerKey) {
	if w == nil || len(keys) == 0 || len(w.Bars) != len(ts) {
		return
	}
	class := make(map[string]string, len(keys))
	for _, k := range keys {
		class[k.Identity] = k.Class
	}
	for i := range w.Bars {
		w.Bars[i].Worker = ts[i].r.Worker
		w.Bars[i].Class = class[ts[i].r.Worker]
	}
}

// workerStats are a pass's figures about its workers, for its stats line:
// how many sent it, and the largest clock offset when it matters.
func workerStats(s analysis.PassSummary) []string {
	var out []string
	if len(s.Workers) > 1 {
		out = append(out, fmt.Sprintf("sent by %d workers", len(s.Workers)))
	}
	if s.ClockOffsetMaxSeconds != nil && *s.ClockOffsetMaxSeconds > analysis.MaxClockOffsetSeconds {
		out = append(out, fmt.Sprintf("clock offset up to %.0f ms", 1000**s.ClockOffsetMaxSeconds))
	}
	return out
}
