// Package shape holds the tests that keep the module's shape: every package
// sits in one layer, imports point down (presentation → orchestration →
// measurement and model → analysis → data), the lower layers stay free of
// the Temporal SDK and of go-openai, and no production function is long
// without saying why. docs/architecture.md draws the same picture.
package shape

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/llmconc/llmconc"

// layer lists, for each package of the module (by its path in the module),
// its layer: a package may import packages of its own layer or of lower
// ones, never of a higher one. Every package must be listed, so that a new
// one is placed on purpose.
var layer = map[string]int{
	// data: the record of a measurement, statistics, prompts; and the
	// simulator, a stand-alone fake endpoint that imports nothing of ours.
	"record": 0, "stats": 0, "prompts": 0, "simulator": 0,
	// figures from records, and the HTTP measuring machinery.
	"analysis": 1, "measure": 1,
	// a test run as data; timed chat completions through go-openai.
	"testrun": 2, "chat": 2,
	// orchestration on Temporal.
	"activities": 3, "workflows": 3, "history": 3, "workerhost": 3,
	"temporalenv": 3, "devserver": 3, "codec": 3,
	// the worker's Prometheus metrics (and the Temporal SDK's, through it).
	"metrics": 3,
	// presentation.
	"report": 4, "htmlreport": 4, "cli": 4,
	// thin mains, and test helpers.
	"starter": 5, "worker": 5, "cmd/simulator": 5, "cmd/codec-server": 5,
	"bench/burst": 5, "bench/fanout": 5, "bench/scale": 5, "bench/internal/benchkit": 5, "internal/headless": 5, "e2e": 5,
	"internal/shape": 5,
}

var layerNames = []string{"data", "analysis and measurement", "model and chat calls", "orchestration", "presentation", "main"}

// only lists the packages of the module that a package may import at all,
// when it is stricter than its layer: the reports depend only on the data
// model, the statistics and the analysis, as vegeta's reporters depend only
// on lib.Result and lib.Metrics.
var only = map[string][]string{
	"analysis":   {"record", "stats"},
	"testrun":    {"record", "stats", "analysis"},
	"measure":    {"record"},
	"chat":       {"record", "measure"},
	"report":     {"record", "stats", "analysis", "testrun"},
	"htmlreport": {"record", "stats", "analysis", "testrun", "report"},
}

// Outside dependencies a package must not pull in, even indirectly.
const (
	temporalSDK = "go.temporal.io/"
	goOpenAI    = "github.com/sashabaranov/go-openai"
	// Only package metrics (and what wires it in) may use Prometheus and
	// OpenTelemetry: the measuring packages hear of requests through
	// chat.Observer.
	prometheusLib = "github.com/prometheus/"
	otelLib       = "go.opentelemetry.io/"
)

var forbidden = map[string][]string{
	"record":     {temporalSDK, goOpenAI, prometheusLib, otelLib},
	"stats":      {temporalSDK, goOpenAI},
	"prompts":    {temporalSDK, goOpenAI},
	"simulator":  {temporalSDK, goOpenAI},
	"analysis":   {temporalSDK, goOpenAI, prometheusLib, otelLib},
	"measure":    {temporalSDK, goOpenAI, prometheusLib, otelLib},
	"testrun":    {temporalSDK, goOpenAI, prometheusLib, otelLib},
	"chat":       {temporalSDK, prometheusLib, otelLib},
	"report":     {temporalSDK, goOpenAI},
	"htmlreport": {temporalSDK, goOpenAI},
}

type pkg struct {
	ImportPath string
	Imports    []string // direct, production files only
	Deps       []string // transitive, production files only
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + string(ee.Stderr)
		}
		t.Fatalf("go list: %s", msg)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// TestLayers fails when a package imports one of a higher layer, a report
// imports more than the data model and the analysis, or a lower layer pulls
// in the Temporal SDK or go-openai.
func TestLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		name, _ := rel(p.ImportPath)
		for _, msg := range violations(name, p) {
			t.Error(msg)
		}
	}
}

func violations(name string, p pkg) []string {
	l, ok := layer[name]
	if !ok {
		return []string{fmt.Sprintf("package %s is in no layer: add it to internal/shape/layers_test.go and docs/architecture.md", name)}
	}
	var out []string
	for _, imp := range p.Imports {
		dep, ours := rel(imp)
		if !ours {
			continue
		}
		dl, known := layer[dep]
		switch {
		case !known:
			continue // reported as its own package
		case dl > l:
			out = append(out, fmt.Sprintf("%s (%s) imports %s (%s): imports must point down", name, layerNames[l], dep, layerNames[dl]))
		case only[name] != nil && !contains(only[name], dep):
			out = append(out, fmt.Sprintf("%s imports %s: it may import only %s of this module", name, dep, strings.Join(only[name], ", ")))
		}
	}
	for _, f := range forbidden[name] {
		var via []string
		for _, d := range p.Deps {
			if strings.HasPrefix(d, f) {
				via = append(via, d)
			}
		}
		if len(via) > 0 {
			sort.Strings(via)
			out = append(out, fmt.Sprintf("%s depends on %s (%s): it must stay free of it", name, strings.TrimSuffix(f, "/"), via[0]))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestViolationsAreFound checks the checker on made-up packages, so that a
// mistake in it cannot pass everything.
func TestViolationsAreFound(t *testing.T) {
	cases := []struct {
		name string
		p    pkg
		want string
	}{
		{"record", pkg{Imports: []string{module + "/analysis"}}, "imports must point down"},
		{"analysis", pkg{Deps: []string{"go.temporal.io/sdk/client"}}, "must stay free of it"},
		{"measure", pkg{Deps: []string{goOpenAI}}, "must stay free of it"},
		{"chat", pkg{Deps: []string{"github.com/prometheus/client_golang/prometheus"}}, "must stay free of it"},
		{"report", pkg{Imports: []string{module + "/workflows"}}, "may import only"},
		{"newpkg", pkg{}, "is in no layer"},
	}
	for _, c := range cases {
		got := strings.Join(violations(c.name, c.p), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want a violation saying %q", c.name, got, c.want)
		}
	}
	if v := violations("cli", pkg{Imports: []string{module + "/workflows", module + "/record", "fmt"}}); len(v) != 0 {
		t.Errorf("cli importing lower layers: got %v, want none", v)
	}
}
