package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// sizeRun makes one concurrent-only run of n requests (C = n) through the
// starter, interrupts the starter once the pass has answered, follows the
// run again with -attach, rebuilds it with `starter result`, checks both
// JSON files and prints the figures.
func (b *bench) sizeRun(ctx context.Context, n int, latency time.Duration, maxTokens int) error {
	sim, base, err := b.startSimulator(latency)
	if err != nil {
		return err
	}
	defer sim.stop()
	wk, err := b.startWorker(base, n)
	if err != nil {
		return err
	}
	defer wk.stop()
	id := fmt.Sprintf("scale-%d-%d", n, time.Now().Unix())
	fmt.Printf("size run: N = C = %d, %s latency, -max-tokens %d, workflow %s; load %s\n", n, latency, maxTokens, id, loadAvg())
	watch := watchFiles(wk.pid())
	start := time.Now()
	if err := b.startAndInterrupt(ctx, id, n, maxTokens); err != nil {
		return err
	}
	attachJSON := filepath.Join(b.dir, id+"-attach.json")
	if err := b.runStarter([]string{"-attach", id, "-out", attachJSON, "-html", "none", "-quiet"}, id+"-attach"); err != nil {
		return err
	}
	wall := time.Since(start)
	maxFDs := watch.stop()
	ws, err := readProc(wk.pid())
	if err != nil {
		return err
	}
	ss, _ := readProc(sim.pid())
	att, err := checkJSON(attachJSON, n)
	if err != nil {
		return fmt.Errorf("starter -attach: %w", err)
	}
	resultJSON := filepath.Join(b.dir, id+"-result.json")
	t0 := time.Now()
	if err := b.runStarter([]string{"result", "-out", resultJSON, "-html", "none", id}, id+"-result"); err != nil {
		return err
	}
	resultWall := time.Since(t0)
	if _, err := checkJSON(resultJSON, n); err != nil {
		return fmt.Errorf("starter result: %w", err)
	}
	printSize(n, wall, resultWall, ws, ss, maxFDs, att)
	return nil
}

// startAndInterrupt starts the run with the starter, waits until its
// concurrent pass has answered requests, and interrupts the starter (the
// run goes on in Temporal).
func (b *bench) startAndInterrupt(ctx context.Context, id string, n, maxTokens int) error {
	st, err := b.starter([]string{"-id", id, "-passes", "concurrent", "-requests", strconv.Itoa(n), "-max-requests", strconv.Itoa(n),
		"-max-tokens", strconv.Itoa(maxTokens), "-yes", "-quiet", "-out", filepath.Join(b.dir, id+"-first.json"), "-html", "none"},
		filepath.Join(b.dir, id+"-first.log"))
	if err != nil {
		return err
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-st.done:
			return fmt.Errorf("the starter ended before it was interrupted (%v): see %s-first.log", st.err, id)
		case <-tick.C:
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := b.c.QueryWorkflow(qctx, id, "", workflows.ProgressQuery, 1<<30)
		cancel()
		var p testrun.Progress
		if err == nil && v.Get(&p) == nil && p.Concurrent.Done > 0 {
			break
		}
	}
	_ = st.cmd.Process.Signal(os.Interrupt)
	<-st.done
	return nil
}

// runStarter runs the starter to its end; an exit other than 0 is an error.
func (b *bench) runStarter(args []string, name string) error {
	log := filepath.Join(b.dir, name+".log")
	st, err := b.starter(args, log)
	if err != nil {
		return err
	}
	<-st.done
	if st.err != nil {
		out, _ := os.ReadFile(log)
		return fmt.Errorf("starter %v: %v\n%s", args, st.err, tail(out, 2000))
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// passFigures are what the size run prints of the result JSON.
type passFigures struct {
	bytes                int64
	records, failed      int
	spread, total, mean  float64
	conns, cold, sentAft int
}

// checkJSON reads a result JSON and checks that its concurrent pass holds a
// record for each of the n requests, once.
func checkJSON(path string, n int) (passFigures, error) {
	var f passFigures
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	f.bytes = int64(len(b))
	var doc struct {
		Concurrent *struct {
			Requests []struct {
				Index int `json:"index"`
			} `json:"requests"`
			Failed              int     `json:"failed"`
			StartSpreadSeconds  float64 `json:"start_spread_seconds"`
			TotalSeconds        float64 `json:"total_seconds"`
			AverageLatency      float64 `json:"average_latency_seconds"`
			Connections         int     `json:"connections"`
			ColdConnections     int     `json:"cold_connections"`
			SentAfterWorkerLoss int     `json:"sent_after_worker_loss"`
		} `json:"concurrent"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	c := doc.Concurrent
	if c == nil {
		return f, errors.New(path + ": no concurrent pass")
	}
	seen := make(map[int]bool, n)
	for _, r := range c.Requests {
		if seen[r.Index] || r.Index < 0 || r.Index >= n {
			return f, fmt.Errorf("%s: request %d twice or out of range", path, r.Index)
		}
		seen[r.Index] = true
	}
	if len(seen) != n {
		return f, fmt.Errorf("%s: %d records of %d requests", path, len(seen), n)
	}
	f.records, f.failed, f.spread, f.total, f.mean = len(seen), c.Failed, c.StartSpreadSeconds, c.TotalSeconds, c.AverageLatency
	f.conns, f.cold, f.sentAft = c.Connections, c.ColdConnections, c.SentAfterWorkerLoss
	return f, nil
}

func printSize(n int, wall, resultWall time.Duration, ws, ss procStatus, maxFDs int, f passFigures) {
	fmt.Printf("  records in the JSON (-attach and result): %d of %d, %d failed\n", f.records, n, f.failed)
	fmt.Printf("  worker peak RSS (VmHWM): %.0f MiB; CPU %.2f s; most open files %d (limit %d)\n",
		float64(ws.hwmKiB)/1024, ws.cpu, maxFDs, ws.maxFile)
	fmt.Printf("  simulator peak RSS: %.0f MiB\n", float64(ss.hwmKiB)/1024)
	fmt.Printf("  wall time, start to the -attach JSON: %.1f s; `starter result`: %.1f s\n", wall.Seconds(), resultWall.Seconds())
	fmt.Printf("  pass: start spread %.3f s, total %.2f s, mean latency %.2f s, %d connections (%d cold), %d sent after a worker loss\n",
		f.spread, f.total, f.mean, f.conns, f.cold, f.sentAft)
	fmt.Printf("  JSON: %.1f MiB; load %s\n", float64(f.bytes)/(1<<20), loadAvg())
}

// fdWatch samples a process's open files every half second, keeping the
// most, until stopped.
type fdWatch struct {
	stopc chan struct{}
	most  chan int
}

func watchFiles(pid int) *fdWatch {
	w := &fdWatch{stopc: make(chan struct{}), most: make(chan int, 1)}
	go func() {
		most := 0
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
				most = max(most, len(ents))
			}
			select {
			case <-w.stopc:
				w.most <- most
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *fdWatch) stop() int {
	close(w.stopc)
	return <-w.most
}
