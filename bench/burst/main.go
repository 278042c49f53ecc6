// Command burst measures the concurrent pass on the path a real key takes,
// side by side with a minimal reference client: the simulator in its own
// process (plain HTTP/1.1, HTTPS with HTTP/2 at a given stream limit, or
// HTTPS with HTTP/1.1 only), the worker in its own process (started afresh
// for every few runs, so that first runs after a worker start are measured
// apart), and a Temporal dev server.
//
//	go run ./bench/burst                                   # the figures of bench/README.md
//	go run ./bench/burst -kinds h2-100 -n 1000 -workers 2  # one kind, one N
//
// Each run is one concurrent-only pass of N requests with C = N, then, on
// the same server, the reference client: it opens its connections first (N
// concurrent GETs of /v1/models), builds all N requests, and releases N
// goroutines from one closed channel. It prints, per run, both start
// spreads (last send minus first send, client side) and their ratio, both
// totals (first send to last response) and their difference, and the
// simulator's own arrival spread for each (last arrival minus first), then
// the median and the worst per kind and N, first runs after a worker start
// apart from the others. The targets: project spread at most 1.5× the
// reference's, project total at most the reference's + 50 ms.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/llmconc/llmconc/bench/internal/benchkit"

	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/history"
	"github.com/llmconc/llmconc/prompts"
	"github.com/llmconc/llmconc/report"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

const key = "bench-key"

// kinds are the server kinds, by name, as simulator flags.
var kinds = map[string][]string{
	"h1":      nil,
	"h2-100":  {"-tls", "-http2-max-streams", "100"},
	"h2-1000": {"-tls", "-http2-max-streams", "1000"},
	"tls-h1":  {"-tls", "-http2=false"},
}

func main() {
	kindList := flag.String("kinds", "h1,h2-100,h2-1000,tls-h1", "server kinds: h1 (plain HTTP/1.1), h2-100 and h2-1000 (HTTPS, HTTP/2 at that stream limit), tls-h1 (HTTPS, HTTP/1.1 only)")
	nList := flag.String("n", "100,1000", "comma-separated request counts")
	workers := flag.Int("workers", 5, "worker starts per kind and N (each gives one first run)")
	runs := flag.Int("runs", 2, "runs per worker start (the first is a first run)")
	latency := flag.Duration("latency", 2*time.Second, "simulator latency per request (fixed)")
	seq := flag.Int("seq", 50, "requests of a sequential pass at 10 ms latency whose dispatch gap is measured (0: none)")
	procs := flag.Int("worker-procs", 1, "worker processes sharing a task queue: above 1, every run also sends the pass through that many workers, beside the one worker's")
	flag.BoolVar(&refTwice, "reference-twice", false, "run the reference client twice per run and report how far its second spread is from its first: the noise of the ratio target itself")
	flag.Parse()
	if *procs < 1 {
		fmt.Fprintln(os.Stderr, "burst: -worker-procs must be at least 1")
		os.Exit(2)
	}
	if err := run(*kindList, *nList, *workers, *runs, *procs, *latency, *seq); err != nil {
		fmt.Fprintln(os.Stderr, "burst: "+err.Error())
		os.Exit(1)
	}
}

// refTwice is -reference-twice.
var refTwice bool

// sample is one run of the project and of the reference.
type sample struct {
	first bool
	// procs is the number of worker processes that shared the pass.
	procs                   int
	spread, refSpread       float64 // s
	total, refTotal         float64 // s
	srvSpread, refSrvSpread float64 // s
	// ref2Spread and ref2SrvSpread are the second reference run's
	// (-reference-twice; 0 without).
	ref2Spread, ref2SrvSpread float64 // s
	conns, cold               int
	failed, refFailed         int
	// workers are the requests each worker process sent, largest first;
	// clockMax the pass's clock_offset_max_seconds.
	workers  []int
	clockMax float64
	// clockWidth is the widest interval of the workers' clock offset
	// bounds (high − low): what the method could not resolve.
	clockWidth float64
}

func (s sample) ratio() float64 {
	if s.refSpread <= 0 {
		return 0
	}
	return s.spread / s.refSpread
}
func (s sample) diff() float64 { return s.total - s.refTotal }

// selfRatio is the larger of the reference's two spreads over the smaller
// (-reference-twice): the ratio the target would give the reference
// itself, whichever of its runs stood in for the project.
func (s sample) selfRatio() float64 {
	lo, hi := min(s.refSpread, s.ref2Spread), max(s.refSpread, s.ref2Spread)
	if lo <= 0 {
		return 0
	}
	return hi / lo
}
func (s sample) ok() bool {
	return s.spread <= 1.5*s.refSpread && s.diff() <= 0.050 && s.failed == 0 && s.cold == 0
}

// run measures each kind and N, printing a row per run, then the summary
// table, then the sequential pass's dispatch gap (seqN > 0).
func run(kindList, nList string, workers, runs, procs int, latency time.Duration, seqN int) error {
	ctx := context.Background()
	counts, err := benchkit.Counts(nList)
	if err != nil {
		return err
	}
	names, err := parseKinds(kindList)
	if err != nil {
		return err
	}
	b, err := setUp(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Printf("Temporal dev server %s; simulator and worker in their own processes; latency %s fixed; C = N\n", b.srv.Address, latency)
	fmt.Printf("%-8s %5s %3s %3s %2s | %9s %9s %6s | %8s %8s %7s | %9s %9s | %5s %4s %4s | %s\n",
		"kind", "N", "w", "run", "p", "spread_ms", "ref_ms", "ratio", "total_s", "ref_s", "diff_ms", "srv_ms", "srvref_ms", "conns", "cold", "ok", "requests per worker, clock offset max ms, widest bounds ms")
	results := map[string][]sample{}
	for _, kind := range names {
		if err := b.runKind(ctx, kind, counts, workers, runs, procs, latency, results); err != nil {
			return err
		}
	}
	printSummary(names, counts, procs, results)
	if refTwice {
		printSelfSummary(names, counts, results)
	}
	if seqN > 0 {
		return sequentialGap(ctx, b.c, b.copts, b.bins, b.tmp, seqN)
	}
	return nil
}

// parseKinds parses -kinds: comma-separated names of kinds.
func parseKinds(kindList string) ([]string, error) {
	var names []string
	for _, k := range strings.Split(kindList, ",") {
		if _, ok := kinds[k]; !ok {
			return nil, fmt.Errorf("unknown kind %q", k)
		}
		names = append(names, k)
	}
	return names, nil
}

// bench is what all runs share: a folder with the worker and simulator
// binaries, the Temporal dev server and a client of it.
type bench struct {
	tmp   string
	bins  binaries
	srv   *devserver.Server
	copts client.Options
	c     client.Client
}

// setUp builds the binaries and starts the dev server; the caller closes
// the bench.
func setUp(ctx context.Context) (*bench, error) {
	b := &bench{}
	if err := b.start(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) start(ctx context.Context) error {
	var err error
	if b.tmp, err = os.MkdirTemp("", "llmconc-burst-*"); err != nil {
		return err
	}
	if b.bins, err = build(ctx, b.tmp); err != nil {
		return err
	}
	if b.srv, err = devserver.Start(ctx, devserver.Options{UIPort: -1, Log: os.Stderr}); err != nil {
		return err
	}
	if b.copts, err = temporalenv.Options(b.srv.Address, temporalenv.QuietLogger(os.Stderr)); err != nil {
		return err
	}
	b.c, err = temporalenv.Dial(ctx, b.copts, 10*time.Second)
	return err
}

// close closes the client, stops the dev server and removes the folder, as
// far as start got.
func (b *bench) close() {
	if b.c != nil {
		b.c.Close()
	}
	if b.srv != nil {
		b.srv.Stop()
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
}

// runKind measures one kind: on a simulator of that kind, for each N,
// workers worker starts of runs runs each, added to results under
// "KIND N=N".
func (b *bench) runKind(ctx context.Context, kind string, counts []int, workers, runs, procs int, latency time.Duration, results map[string][]sample) error {
	sim, err := startSimulator(b.bins.sim, b.tmp, kind, latency)
	if err != nil {
		return err
	}
	defer sim.stop()
	for _, n := range counts {
		for w := 1; w <= workers; w++ {
			ss, err := b.runWorker(ctx, sim, kind, n, w, runs, procs)
			if err != nil {
				return err
			}
			for _, s := range ss {
				k := resultKey(kind, n, s.procs)
				results[k] = append(results[k], s)
			}
		}
	}
	return nil
}

// resultKey is the key of a kind's, N's and worker processes' runs.
func resultKey(kind string, n, procs int) string {
	return fmt.Sprintf("%s N=%d P=%d", kind, n, procs)
}

// runWorker starts worker w (and, with procs > 1, procs more worker
// processes on a task queue of their own) and makes runs runs of N
// requests (the first is a first run): each run sends the pass through the
// one worker, then through the procs workers, then the reference client,
// printing a row for each pass.
func (b *bench) runWorker(ctx context.Context, sim *simProc, kind string, n, w, runs, procs int) ([]sample, error) {
	queues := map[int]string{1: workflows.TaskQueue}
	if procs > 1 {
		queues[procs] = fmt.Sprintf("burst-procs-%d-%d", procs, time.Now().UnixNano())
	}
	for p, q := range queues {
		for range p {
			wk, err := startWorker(b.bins.worker, b.srv.Address, sim, "-task-queue", q)
			if err != nil {
				return nil, err
			}
			defer wk.stop()
		}
	}
	var ss []sample
	for r := 1; r <= runs; r++ {
		run, err := oneRun(ctx, b.c, b.copts, sim, n, queues)
		if err != nil {
			return nil, err
		}
		for _, s := range run {
			s.first = r == 1
			fmt.Printf("%-8s %5d %3d %3d %2d | %9.1f %9.1f %6.2f | %8.3f %8.3f %7.1f | %9.1f %9.1f | %5d %4d %4v | %v, %.1f, %.1f\n",
				kind, n, w, r, s.procs, 1000*s.spread, 1000*s.refSpread, s.ratio(), s.total, s.refTotal, 1000*s.diff(),
				1000*s.srvSpread, 1000*s.refSrvSpread, s.conns, s.cold, s.ok(), s.workers, 1000*s.clockMax, 1000*s.clockWidth)
			if refTwice {
				fmt.Printf("%-8s %5d %3d %3d %2s | reference again: spread %.1f ms (larger / smaller of the two: %.2f), server arrival spread %.1f ms\n",
					kind, n, w, r, "", 1000*s.ref2Spread, s.selfRatio(), 1000*s.ref2SrvSpread)
			}
			ss = append(ss, s)
		}
	}
	return ss, nil
}

// printSummary prints the Markdown table of bench/README.md: per kind and
// N, first runs apart from later ones.
func printSummary(names []string, counts []int, procs int, results map[string][]sample) {
	fmt.Println()
	fmt.Println("| kind | N | worker processes | runs | project spread ms, median (worst) | reference spread ms, median (worst) | ratio, median (worst) | total − reference total ms, median (worst) | server arrival spread ms, project / reference (medians) | runs meeting the targets (no cold connection, no failure) | fewest requests sent by a worker, clock offset max ms (worst) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	ps := []int{1}
	if procs > 1 {
		ps = append(ps, procs)
	}
	for _, kind := range names {
		for _, n := range counts {
			for _, p := range ps {
				first, later := splitFirst(results[resultKey(kind, n, p)])
				printSummaryRow(kind, n, p, "first", first)
				printSummaryRow(kind, n, p, "later", later)
			}
		}
	}
}

// printSelfSummary prints, per kind and N, how the reference's second run
// in each run compares with its first (-reference-twice), beside the
// project's ratio: how often the reference would meet the ratio target
// against itself.
func printSelfSummary(names []string, counts []int, results map[string][]sample) {
	fmt.Println()
	fmt.Println("| kind | N | runs | reference against itself: larger / smaller of its two spreads, median (worst) | reference's two runs within 1.5× of each other | project / reference, median (worst) | project within 1.5× the reference |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, kind := range names {
		for _, n := range counts {
			ss := results[resultKey(kind, n, 1)]
			if len(ss) == 0 {
				continue
			}
			self, proj := 0, 0
			for _, s := range ss {
				if s.selfRatio() <= 1.5 {
					self++
				}
				if s.ratio() <= 1.5 {
					proj++
				}
			}
			fmt.Printf("| %s | %d | %d | %s | %d of %d | %s | %d of %d |\n", kind, n, len(ss),
				medWorst(ss, sample.selfRatio, "%.2f"), self, len(ss), medWorst(ss, sample.ratio, "%.2f"), proj, len(ss))
		}
	}
}

// splitFirst separates first runs after a worker start from the others.
func splitFirst(all []sample) (first, later []sample) {
	for _, s := range all {
		if s.first {
			first = append(first, s)
		} else {
			later = append(later, s)
		}
	}
	return first, later
}

// printSummaryRow prints one row of the summary table, for the runs ss
// (none: no row).
func printSummaryRow(kind string, n, procs int, what string, ss []sample) {
	if len(ss) == 0 {
		return
	}
	met := 0
	for _, s := range ss {
		if s.ok() {
			met++
		}
	}
	fewest, clock := n, 0.0
	for _, s := range ss {
		if len(s.workers) < procs {
			fewest = 0
		} else {
			fewest = min(fewest, s.workers[len(s.workers)-1])
		}
		clock = max(clock, 1000*s.clockMax)
	}
	fmt.Printf("| %s | %d | %d | %s, %d | %s | %s | %s | %s | %.1f / %.1f | %d of %d | %d, %.1f |\n", kind, n, procs, what, len(ss),
		medWorst(ss, func(s sample) float64 { return 1000 * s.spread }, "%.1f"),
		medWorst(ss, func(s sample) float64 { return 1000 * s.refSpread }, "%.1f"),
		medWorst(ss, sample.ratio, "%.2f"),
		medWorst(ss, func(s sample) float64 { return 1000 * s.diff() }, "%.0f"),
		median(ss, func(s sample) float64 { return 1000 * s.srvSpread }),
		median(ss, func(s sample) float64 { return 1000 * s.refSrvSpread }),
		met, len(ss), fewest, clock)
}

func medWorst(ss []sample, f func(sample) float64, format string) string {
	vs := values(ss, f)
	return fmt.Sprintf(format+" ("+format+")", vs[len(vs)/2], vs[len(vs)-1])
}

func median(ss []sample, f func(sample) float64) float64 {
	vs := values(ss, f)
	return vs[len(vs)/2]
}

func values(ss []sample, f func(sample) float64) []float64 {
	vs := make([]float64, len(ss))
	for i, s := range ss {
		vs[i] = f(s)
	}
	sort.Float64s(vs)
	return vs
}

type binaries struct{ worker, sim string }

func build(ctx context.Context, dir string) (binaries, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./worker", "./cmd/simulator")
	if out, err := cmd.CombinedOutput(); err != nil {
		return binaries{}, fmt.Errorf("go build ./worker ./cmd/simulator: %v\n%s", err, out)
	}
	return binaries{worker: filepath.Join(dir, "worker"), sim: filepath.Join(dir, "simulator")}, nil
}

// simProc is a simulator process.
type simProc struct {
	cmd      *exec.Cmd
	base     string
	certFile string
	hc       *http.Client // trusts its certificate
	roots    *x509.CertPool
}

func startSimulator(bin, dir, kind string, latency time.Duration) (*simProc, error) {
	args := append([]string{"-addr", "127.0.0.1:0", "-latency", latency.String(), "-api-key", key}, kinds[kind]...)
	certFile := ""
	if len(kinds[kind]) > 0 {
		certFile = filepath.Join(dir, kind+".pem")
		args = append(args, "-cert-file", certFile)
	}
	return startSimProc(bin, certFile, args)
}

func startSimProc(bin, certFile string, args []string) (*simProc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, out) }()
	i := strings.Index(line, "http")
	if err != nil || i < 0 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the simulator did not say where it serves: %q %v", line, err)
	}
	s := &simProc{cmd: cmd, base: strings.TrimSpace(line[i:]), certFile: certFile}
	tr := &http.Transport{}
	if certFile != "" {
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.roots = x509.NewCertPool()
		s.roots.AppendCertsFromPEM(pemBytes)
		tr.TLSClientConfig = &tls.Config{RootCAs: s.roots}
	}
	s.hc = &http.Client{Transport: tr}
	return s, nil
}

func (s *simProc) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

// arrivals reads (and resets) the simulator's arrival log.
func (s *simProc) arrivals() (simulator.Arrivals, error) {
	var a simulator.Arrivals
	resp, err := s.hc.Get(strings.TrimSuffix(s.base, "/v1") + "/sim/arrivals?reset=1")
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&a)
	return a, err
}

// workerProc is a worker process.
type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startWorker(bin, temporal string, sim *simProc, args ...string) (*workerProc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "TEMPORAL_ADDRESS=" + temporal,
		"OPENAI_API_KEY=" + key, "OPENAI_BASE_URL=" + sim.base}
	if sim.certFile != "" {
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+sim.certFile)
	}
	if v := os.Getenv("BURST_WORKER_GOGC"); v != "" {
		cmd.Env = append(cmd.Env, "GOGC="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

func (w *workerProc) stop() {
	_ = w.cmd.Process.Signal(os.Interrupt)
	<-w.done
}

// oneRun runs the project's concurrent pass, then the reference client.
// oneRun sends the pass through the worker process of queues[1], then
// through the several of the other queue (if any), then runs the reference
// client; the samples share the reference's figures.
func oneRun(ctx context.Context, c client.Client, copts client.Options, sim *simProc, n int, queues map[int]string) ([]sample, error) {
	procs := make([]int, 0, len(queues))
	for p := range queues {
		procs = append(procs, p)
	}
	sort.Ints(procs)
	var ss []sample
	for _, p := range procs {
		s, err := onePass(ctx, c, copts, sim, n, queues[p])
		if err != nil {
			return nil, err
		}
		s.procs = p
		ss = append(ss, s)
	}
	ref, err := reference(ctx, sim, n)
	if err != nil {
		return nil, err
	}
	for i := range ss {
		ss[i].refSpread, ss[i].refTotal, ss[i].refFailed = ref.spread, ref.total, ref.failed
		ss[i].refSrvSpread = ref.srvSpread
	}
	if !refTwice {
		return ss, nil
	}
	ref2, err := reference(ctx, sim, n)
	if err != nil {
		return nil, err
	}
	for i := range ss {
		ss[i].ref2Spread, ss[i].ref2SrvSpread = ref2.spread, ref2.srvSpread
		ss[i].refFailed += ref2.failed
	}
	return ss, nil
}

// onePass runs the project's concurrent pass on taskQueue.
func onePass(ctx context.Context, c client.Client, copts client.Options, sim *simProc, n int, taskQueue string) (sample, error) {
	var s sample
	if _, err := sim.arrivals(); err != nil {
		return s, err
	}
	in := testrun.Input{
		Requests: n, Model: "gpt-4.1-nano", MaxTokens: 16, Concurrency: n,
		Passes: testrun.PassesConcurrent, Prompts: prompts.ForRequests(prompts.BuiltIn, n),
		PromptsSource: "built-in list",
	}.WithDefaults()
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: taskQueue}, workflows.ConcurrencyTest, in)
	if err != nil {
		return s, err
	}
	var res testrun.Result
	if err := wr.Get(ctx, &res); err != nil {
		return s, err
	}
	if err := history.ReadRecords(ctx, c, copts.DataConverter, wr.GetID(), wr.GetRunID(), &res); err != nil {
		return s, err
	}
	p := report.Build(wr.GetID(), wr.GetRunID(), res).Concurrent
	if p == nil {
		return s, errors.New("no concurrent pass in the result")
	}
	s.spread, s.total, s.conns, s.cold, s.failed = p.StartSpreadSeconds, p.TotalSeconds, p.Connections, p.ColdConnections, p.Failed
	a, err := sim.arrivals()
	if err != nil {
		return s, err
	}
	s.srvSpread = a.SpreadSeconds
	for _, k := range p.Workers {
		s.workers = append(s.workers, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(s.workers)))
	if p.ClockOffsetMaxSeconds != nil {
		s.clockMax = *p.ClockOffsetMaxSeconds
	}
	for _, o := range p.ClockOffsets {
		if o.UncertaintySeconds != nil {
			s.clockWidth = max(s.clockWidth, 2**o.UncertaintySeconds)
		}
	}
	return s, nil
}

type refResult struct {
	spread, total float64
	// srvSpread is the simulator's arrival spread of the reference's
	// requests.
	srvSpread float64
	failed    int
}

// reference is the minimal Go client: it opens its connections with n
// concurrent GETs of /v1/models, builds all n requests, then releases n
// goroutines from one closed channel. With its figures comes the
// simulator's arrival spread of its requests (the arrivals read since the
// last reading: the caller reads them before).
func reference(ctx context.Context, sim *simProc, n int) (refResult, error) {
	tr := &http.Transport{ForceAttemptHTTP2: true, MaxIdleConnsPerHost: n, IdleConnTimeout: 30 * time.Second}
	if sim.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: sim.roots}
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	openConnections(ctx, hc, sim, n)
	reqs, err := refRequests(ctx, sim, n)
	if err != nil {
		return refResult{}, err
	}
	r := fire(hc, reqs).result()
	a, err := sim.arrivals()
	if err != nil {
		return refResult{}, err
	}
	r.srvSpread = a.SpreadSeconds
	return r, nil
}

// openConnections opens up to n connections with n concurrent GETs of
// /v1/models.
func openConnections(ctx context.Context, hc *http.Client, sim *simProc, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sim.base+"/models", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			if resp, err := hc.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
}

// refRequests builds the n chat completion requests of the reference, one
// per built-in prompt.
func refRequests(ctx context.Context, sim *simProc, n int) ([]*http.Request, error) {
	ps := prompts.ForRequests(prompts.BuiltIn, n)
	reqs := make([]*http.Request, n)
	for i := range n {
		body, err := json.Marshal(map[string]any{
			"model": "gpt-4.1-nano", "max_tokens": 16,
			"messages": []map[string]string{{"role": "user", "content": ps[i]}},
		})
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, sim.base+"/chat/completions", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		reqs[i] = req
	}
	return reqs, nil
}

// timings are when the reference's requests were sent and answered, and
// which failed, by request.
type timings struct {
	starts, ends []time.Time
	fails        []bool
}

// fire sends reqs from one goroutine each, all released by one closed
// channel, and waits for their answers.
func fire(hc *http.Client, reqs []*http.Request) timings {
	n := len(reqs)
	t := timings{starts: make([]time.Time, n), ends: make([]time.Time, n), fails: make([]bool, n)}
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			t.starts[i] = time.Now()
			resp, err := hc.Do(reqs[i])
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("HTTP %d", resp.StatusCode)
				}
			}
			t.ends[i] = time.Now()
			t.fails[i] = err != nil
		}()
	}
	close(release)
	wg.Wait()
	return t
}

// result is the start spread (last send minus first), the total (first
// send to last answer) and the failures of the timings.
func (t timings) result() refResult {
	first, lastStart, lastEnd := t.starts[0], t.starts[0], t.ends[0]
	var r refResult
	for i := range t.starts {
		if t.starts[i].Before(first) {
			first = t.starts[i]
		}
		if t.starts[i].After(lastStart) {
			lastStart = t.starts[i]
		}
		if t.ends[i].After(lastEnd) {
			lastEnd = t.ends[i]
		}
		if t.fails[i] {
			r.failed++
		}
	}
	r.spread = lastStart.Sub(first).Seconds()
	r.total = lastEnd.Sub(first).Seconds()
	return r
}

// sequentialGap measures the sequential pass's chaining cost against a fast
// simulator in its own process: the gap between a response and the next
// send.
func sequentialGap(ctx context.Context, c client.Client, copts client.Options, bins binaries, dir string, n int) error {
	sim, err := startSimProc(bins.sim, "", []string{"-addr", "127.0.0.1:0", "-latency", "10ms", "-api-key", key})
	if err != nil {
		return err
	}
	defer sim.stop()
	wk, err := startWorker(bins.worker, copts.HostPort, sim)
	if err != nil {
		return err
	}
	defer wk.stop()
	in := testrun.Input{
		Requests: n, Model: "gpt-4.1-nano", MaxTokens: 16, Passes: testrun.PassesSequential,
		Prompts: prompts.ForRequests(prompts.BuiltIn, n), PromptsSource: "built-in list",
	}.WithDefaults()
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, workflows.ConcurrencyTest, in)
	if err != nil {
		return err
	}
	var res testrun.Result
	if err := wr.Get(ctx, &res); err != nil {
		return err
	}
	if err := history.ReadRecords(ctx, c, copts.DataConverter, wr.GetID(), wr.GetRunID(), &res); err != nil {
		return err
	}
	p := report.Build(wr.GetID(), wr.GetRunID(), res).Sequential
	var worst float64
	for i := 1; i < len(p.Requests); i++ {
		worst = max(worst, p.Requests[i].SentAt.Sub(p.Requests[i-1].ReceivedAt).Seconds())
	}
	fmt.Printf("\nsequential pass, %d requests at 10 ms: dispatch gap %.1f ms per request on average, %.1f ms at most\n",
		n, 1000*p.DispatchGapSeconds/float64(n-1), 1000*worst)
	return nil
}
