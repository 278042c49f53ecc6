package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/llmconc/llmconc/metrics"
	"github.com/llmconc/llmconc/simulator"
)

// TestWorkerMetrics starts the worker binary with LLMCONC_METRICS_ADDR on a
// free port (127.0.0.1:0; the worker says which), runs a small run through
// it, and scrapes /metrics over HTTP: llmconc_requests_total counts the
// run's requests by pass, the latency and TTFT histograms count its
// successes, nothing is left in flight, the Temporal SDK's metrics are on
// the same endpoint, and every metric the Grafana dashboard queries is one
// this worker exports.
func TestWorkerMetrics(t *testing.T) {
	const n = 4
	queue := "e2e-metrics-" + randHex(4)
	sim := simulator.New(simulator.Config{Latency: 50 * time.Millisecond, RateLimit: 1000, Seed: 1, APIKey: "e2e-key-" + randHex(8)})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	w := startLogged(t, workerBin, binEnv("OPENAI_API_KEY="+sim.Config().APIKey, "OPENAI_BASE_URL="+base,
		"LLMCONC_TASK_QUEUE="+queue, "LLMCONC_METRICS_ADDR=127.0.0.1:0"))
	line := w.waitFor(t, "serving Prometheus metrics at ")
	url := regexp.MustCompile(`http://\S+/metrics`).FindString(line)
	if url == "" {
		t.Fatalf("no URL in %q", line)
	}
	w.waitFor(t, "polling task queue")

	runToJSON(t, "-requests", fmt.Sprint(n), "-max-tokens", "8", "-task-queue", queue)

	fams, body := scrapeMetrics(t, url)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{metrics.RequestsTotal, []string{"endpoint=default", "pass=warmup", "status=ok"}, 1},
		{metrics.RequestsTotal, []string{"endpoint=default", "pass=sequential", "status=ok"}, n},
		{metrics.RequestsTotal, []string{"endpoint=default", "pass=concurrent", "status=ok"}, n},
		{metrics.RequestDuration, []string{"endpoint=default", "pass=concurrent"}, n},
		{metrics.TTFT, []string{"endpoint=default", "pass=sequential"}, n},
		{metrics.InFlight, []string{"endpoint=default"}, 0},
	} {
		if got := metricValue(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := len(fams[metrics.RequestsTotal].GetMetric()); n != 3 {
		t.Errorf("%s has %d series, want 3 (warmup, sequential, concurrent; all ok)", metrics.RequestsTotal, n)
	}
	for _, name := range []string{metrics.RateLimitRemainingReqs, metrics.RateLimitRemainingToken} {
		if v := metricValue(fams, name, "endpoint=default"); v <= 0 {
			t.Errorf("%s = %v, want what the simulator's headers said", name, v)
		}
	}
	for _, name := range []string{"temporal_activity_execution_latency_seconds", "temporal_request_total"} {
		if fams[name] == nil {
			t.Errorf("the Temporal SDK's %s is not exported", name)
		}
	}
	for _, secret := range []string{sim.Config().APIKey, strings.TrimPrefix(base, "http://")} {
		if strings.Contains(body, secret) {
			t.Errorf("the metrics hold %q", secret)
		}
	}

	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, fams) })
	t.Run("prometheus", func(t *testing.T) {
		checkDashboardInPrometheus(t, strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics"))
	})

	if code := w.stop(t); code != 0 {
		t.Errorf("the worker exited %d\n%s", code, w.text())
	}
}

// checkDashboard fails for every metric the Grafana dashboard queries (its
// panels' expressions and its variables' queries) that fams, a scrape of a
// real worker, lacks; and when the dashboard leaves out one of the tool's
// metrics or has no metric of the Temporal SDK.
func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	exported := map[string]bool{}
	for name, f := range fams {
		exported[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[name+s] = true
			}
		}
	}
	queried := dashboardMetrics(t, filepath.Join(repoRoot, "deploy", "grafana", "dashboards", "llmconc.json"))
	for _, name := range queried {
		if !exported[name] {
			t.Errorf("the dashboard queries %s, which the worker does not export", name)
		}
	}
	for _, want := range []string{metrics.RequestsTotal, metrics.RequestDuration + "_bucket", metrics.TTFT + "_bucket", metrics.InFlight, metrics.RateLimitRemainingReqs, metrics.RateLimitRemainingToken} {
		if !slices.Contains(queried, want) {
			t.Errorf("the dashboard does not query %s", want)
		}
	}
	sdk := 0
	for _, name := range queried {
		if strings.HasPrefix(name, "temporal_") {
			sdk++
		}
	}
	if sdk < 2 {
		t.Errorf("the dashboard queries %d metrics of the Temporal SDK, want at least 2: %v", sdk, queried)
	}
}

// dashboardMetrics returns the metric names that a Grafana dashboard's
// queries use, sorted: every target's expr, in panels and in rows' panels,
// and every variable's label_values(metric, label).
func dashboardMetrics(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	names := map[string]bool{}
	exprs := 0
	var walk func([]json.RawMessage)
	walk = func(raws []json.RawMessage) {
		for _, raw := range raws {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s: a panel: %v", path, err)
			}
			for _, tg := range p.Targets {
				ms := promQLMetrics(tg.Expr)
				if len(ms) == 0 {
					t.Errorf("panel %q: no metric found in %q", p.Title, tg.Expr)
				}
				for _, m := range ms {
					names[m] = true
				}
				exprs++
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	labelValues := regexp.MustCompile(`label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)`)
	for _, v := range dash.Templating.List {
		var q struct {
			Query string `json:"query"`
		}
		var s string
		if json.Unmarshal(v.Query, &s) != nil {
			_ = json.Unmarshal(v.Query, &q)
			s = q.Query
		}
		for _, m := range labelValues.FindAllStringSubmatch(s, -1) {
			names[m[1]] = true
		}
	}
	if exprs < 10 {
		t.Errorf("%s: %d queries found, want the dashboard's panels' (at least 10)", path, exprs)
	}
	var out []string
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"}
)

// promQLMetrics returns the metric names of a PromQL expression: its
// identifiers outside label matchers, ranges, strings and grouping clauses
// that are neither a function nor an aggregation (followed by "(") nor a
// keyword.
func promQLMetrics(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRange.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.' || s[loc[0]-1] == '$') {
			continue // part of a number such as 1e3, or a Grafana variable
		}
		if strings.HasPrefix(strings.TrimSpace(s[loc[1]:]), "(") || slices.Contains(promKeywords, strings.ToLower(name)) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// TestPromQLMetrics checks the dashboard test's reading of PromQL, so that a
// mistake in it cannot pass every dashboard.
func TestPromQLMetrics(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (status) (rate(llmconc_requests_total{endpoint=~"$endpoint"}[$__rate_interval]))`:                {"llmconc_requests_total"},
		`histogram_quantile(0.95, sum by (le, pass) (rate(llmconc_ttft_seconds_bucket{pass="x(y)"}[5m])))`:       {"llmconc_ttft_seconds_bucket"},
		`sum(rate(a_sum[1m])) / sum(rate(a_count[1m])) > bool 0.5 and on (job) up offset 5m`:                     {"a_sum", "a_count", "up"},
		`llmconc_rate_limit_remaining_tokens`:                                                                    {"llmconc_rate_limit_remaining_tokens"},
		`sum without (instance) (temporal_worker_task_slots_available{worker_type="ActivityWorker"}) * 1e3 + $x`: {"temporal_worker_task_slots_available"},
	} {
		if got := promQLMetrics(expr); !slices.Equal(got, want) {
			t.Errorf("promQLMetrics(%q) = %q, want %q", expr, got, want)
		}
	}
}

// TestPrometheusScrapesTheWorkerPort: the compose file's Prometheus reads
// deploy/prometheus/prometheus.yml, which scrapes the worker on the host at
// the port docs/metrics.md tells the worker to listen on
// (metrics.DefaultPort) and at its metrics path; the container can reach
// the host by that name; Grafana gets the dashboard and the data source the
// dashboard names.
func TestPrometheusScrapesTheWorkerPort(t *testing.T) {
	t.Parallel()
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join(repoRoot, "deploy", "prometheus", "prometheus.yml"), &prom)
	want := fmt.Sprintf("host.docker.internal:%d", metrics.DefaultPort)
	found := false
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			if slices.Contains(st.Targets, want) {
				found = true
				if sc.JobName != "llmconc-worker" || (sc.MetricsPath != "" && sc.MetricsPath != metrics.Path) {
					t.Errorf("the job scraping %s is %q at %q; the dashboard reads job llmconc-worker, the worker serves %s", want, sc.JobName, sc.MetricsPath, metrics.Path)
				}
			}
		}
	}
	if !found {
		t.Errorf("deploy/prometheus/prometheus.yml does not scrape %s: %+v", want, prom)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), fmt.Sprintf("LLMCONC_METRICS_ADDR=127.0.0.1:%d", metrics.DefaultPort)) || !strings.Contains(string(doc), fmt.Sprintf("LLMCONC_METRICS_ADDR=:%d", metrics.DefaultPort)) {
		t.Errorf("docs/metrics.md does not tell the worker to listen on port %d", metrics.DefaultPort)
	}

	var compose struct {
		Services map[string]struct {
			Image      string   `yaml:"image"`
			Profiles   []string `yaml:"profiles"`
			ExtraHosts []string `yaml:"extra_hosts"`
			Volumes    []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	readYAML(t, filepath.Join(repoRoot, "docker-compose.yml"), &compose)
	pr, gr := compose.Services["prometheus"], compose.Services["grafana"]
	if !slices.Contains(pr.ExtraHosts, "host.docker.internal:host-gateway") {
		t.Errorf("the prometheus service's extra_hosts %v lack host.docker.internal:host-gateway", pr.ExtraHosts)
	}
	if !slices.Contains(pr.Volumes, "./deploy/prometheus:/etc/prometheus:ro") {
		t.Errorf("the prometheus service's volumes %v do not mount deploy/prometheus", pr.Volumes)
	}
	for name, svc := range map[string]struct {
		image    string
		profiles []string
	}{"prometheus": {pr.Image, pr.Profiles}, "grafana": {gr.Image, gr.Profiles}} {
		if _, tag, ok := strings.Cut(svc.image, ":"); !ok || tag == "latest" || tag == "" {
			t.Errorf("the %s service's image %q is not pinned", name, svc.image)
		}
		if !slices.Contains(svc.profiles, "metrics") {
			t.Errorf("the %s service is not in the profile metrics: %v", name, svc.profiles)
		}
	}
	if !slices.Contains(gr.Volumes, "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro") || !slices.Contains(gr.Volumes, "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro") {
		t.Errorf("the grafana service's volumes %v do not mount deploy/grafana", gr.Volumes)
	}
	var ds struct {
		Datasources []struct {
			UID string `yaml:"uid"`
			URL string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(repoRoot, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml"), &ds)
	dash, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "dashboards", "llmconc.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].URL != "http://prometheus:9090" || !strings.Contains(string(dash), `"uid": "`+ds.Datasources[0].UID+`"`) {
		t.Errorf("Grafana's data source %+v: want the compose file's prometheus, with the uid the dashboard names", ds.Datasources)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// scrapeMetrics GETs a /metrics URL and parses it.
func scrapeMetrics(t *testing.T, url string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: HTTP %d, %v", url, resp.StatusCode, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse the scrape of %s: %v", url, err)
	}
	return fams, string(b)
}

// metricValue is the value of the series of family name with exactly these
// labels (name=value): a counter's or a gauge's value, a histogram's count;
// -1 when there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	want := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		want[k] = v
	}
	for _, m := range fams[name].GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			match = match && want[lp.GetName()] == lp.GetValue()
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// loggedProc is a binary whose stderr is read line by line as it comes.
type loggedProc struct {
	*proc
	mu    sync.Mutex
	lines []string
	more  chan struct{} // signalled at every new line
}

// startLogged starts bin; its stderr lines are kept for waitFor.
func startLogged(t *testing.T, bin string, env []string, args ...string) *loggedProc {
	t.Helper()
	p := &loggedProc{proc: &proc{name: filepath.Base(bin), done: make(chan struct{})}, more: make(chan struct{}, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env, p.cmd.Dir = env, t.TempDir()
	p.cmd.Stdout = &p.stdout
	r, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.signalAndWait(15 * time.Second)
		}
	})
	return p
}

// waitFor returns the first stderr line that holds s, failing the test if
// the process exits or 60 s pass first.
func (p *loggedProc) waitFor(t *testing.T, s string) string {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, s) {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-p.done:
			t.Fatalf("%s exited before saying %q\n%s", p.name, s, p.text())
		case <-deadline.C:
			t.Fatalf("%s did not say %q within 60 s\n%s", p.name, s, p.text())
		}
	}
}

// text is the stderr read so far.
func (p *loggedProc) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}
