package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkDashboardInPrometheus runs a real Prometheus (the Debian package's
// binary, which .ci/run installs) with deploy/prometheus/prometheus.yml,
// its target turned to the worker at workerAddr, waits for two scrapes, and
// evaluates every query of the Grafana dashboard as Grafana would (its
// variables replaced): each must parse and return series, except those of
// failures (status!="ok"), which a run without failures leaves empty. The
// dashboard's variable must list the worker's endpoint.
func checkDashboardInPrometheus(t *testing.T, workerAddr string) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not on PATH, and CI is set: install it (Debian package prometheus) to evaluate the dashboard's queries")
		}
		t.Skip("prometheus is not on PATH: the dashboard's queries are not evaluated (set CI to make this a failure)")
	}
	cfg, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const target = "host.docker.internal:9464"
	if !strings.Contains(string(cfg), target) {
		t.Fatalf("deploy/prometheus/prometheus.yml does not scrape %s", target)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(strings.ReplaceAll(string(cfg), target, workerAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	prom := startProc(t, "prometheus", bin, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + homeDir},
		"--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	api := "http://" + addr + "/api/v1/"

	// Two scrapes at least, so that rate() has two samples.
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := promQuery(api, `count_over_time(llmconc_in_flight{job="llmconc-worker"}[1m])`)
		if err == nil && len(res) > 0 && res[0].Value[1] != "1" {
			break
		}
		if prom.exited() {
			t.Fatalf("prometheus exited\n%s", prom.output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus did not scrape the worker twice within 60 s (%v, %v)", res, err)
		}
		time.Sleep(200 * time.Millisecond) // polling Prometheus' state: no event to wait on
	}

	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "dashboards", "llmconc.json"))
	if err != nil {
		t.Fatal(err)
	}
	grafana := strings.NewReplacer("$__rate_interval", "1m", "$__range", "5m", "$endpoint", ".*")
	n := 0
	for _, expr := range dashboardExprs(t, b) {
		n++
		q := grafana.Replace(expr)
		res, err := promQuery(api, q)
		switch {
		case err != nil:
			t.Errorf("the dashboard's query %s: %v", q, err)
		case len(res) == 0 && !strings.Contains(q, `status!="ok"`):
			t.Errorf("the dashboard's query %s returns nothing", q)
		}
	}
	if n < 10 {
		t.Errorf("%d queries evaluated, want the dashboard's (at least 10)", n)
	}
	values, err := promGet(api + "label/endpoint/values?" + url.Values{"match[]": {"llmconc_in_flight"}}.Encode())
	if err != nil || !strings.Contains(string(values), `"default"`) {
		t.Errorf("the dashboard's variable (label_values(llmconc_in_flight, endpoint)): %s, %v; want default", values, err)
	}
}

// dashboardExprs returns every target's expr of a Grafana dashboard, in
// panels and in rows' panels.
func dashboardExprs(t *testing.T, b []byte) []string {
	t.Helper()
	type panel struct {
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func([]json.RawMessage)
	walk = func(raws []json.RawMessage) {
		for _, raw := range raws {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			for _, tg := range p.Targets {
				out = append(out, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	return out
}

// promSample is one series of an instant query's result.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// promQuery evaluates expr now, through Prometheus' HTTP API at api.
func promQuery(api, expr string) ([]promSample, error) {
	b, err := promGet(api + "query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil, err
	}
	var r struct {
		Data struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return r.Data.Result, nil
}

// promGet GETs an API URL of Prometheus; an answer that is not
// status "success" is an error with its message.
func promGet(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var st struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, err
	}
	if st.Status != "success" {
		return nil, &promError{st.Error}
	}
	return body, nil
}

type promError struct{ msg string }

func (e *promError) Error() string { return "prometheus: " + e.msg }
