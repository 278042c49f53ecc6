package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/llmconc/llmconc/devserver"
)

// readmeCoverage says, for every command in the ```sh blocks of README.md
// and of the docs/ pages, what runs it: this test ("") or the named test or
// .ci/run. TestREADMECommands fails on a command missing here (add it, and a
// way to run it), and on an entry no page shows any more.
var readmeCoverage = map[string]string{
	"go run ./starter -dev":            "TestNewcomer and TestDevDemo (the newcomer's environment; TestDemoKeepsItsRuns for -dev list/result/rerun/-attach)",
	"go test -race -timeout 20m ./...": ".ci/run",
	"docker compose up -d":             "TestDockerComposeConfig and .ci/run (docker-compose config: the file is valid; CI has no Docker engine to start it)",
	// Against the real API in the README; here against the simulator the
	// simulator page starts (same command, the simulator's URL and key).
	"export OPENAI_API_KEY=...":                                                                "",
	"export OPENAI_BASE_URL=https://api.openai.com/v1":                                         "",
	"go run ./worker":                                                                          "",
	"go run ./starter -requests 10 -model gpt-4.1-nano":                                        "",
	"go run ./starter list [-n 20]":                                                            "",
	"go run ./starter result [-out FILE] [-html FILE] WORKFLOW_ID":                             "",
	"go run ./starter rerun [-id NEW_ID] WORKFLOW_ID":                                          "",
	"go run ./starter rerun -failed-only WORKFLOW_ID":                                          "",
	`temporal workflow list --query "LlmModel = 'gpt-4.1-nano' AND LlmVerdict = 'serialized'"`: "",
	"temporal operator search-attribute create --namespace default --name LlmModel --type Keyword --name LlmRequests --type Int --name LlmPasses --type Keyword --name LlmVerdict --type Keyword": "",
	`temporal workflow reset --workflow-id ID --type LastWorkflowTask --reason "worker crashed"`:                                                                                                  "",
	`temporal workflow reset --workflow-id ID --event-id EVENT_ID --reason "redo the concurrent pass"`:                                                                                            "",
	"export LOCAL_KEY=... GROQ_KEY=...": "",
	`export LLMCONC_ENDPOINTS='[ {"name": "local", "base_url": "http://127.0.0.1:8000/v1", "key_env": "LOCAL_KEY", "label": "vLLM on the lab box"}, {"name": "groq", "base_url": "https://api.groq.com/openai/v1", "key_env": "GROQ_KEY"} ]'`: "",
	"go run ./starter -endpoint local":                                                                         "",
	"go run ./cmd/simulator -latency 2s -max-concurrent 4 -api-key test":                                       "",
	"OPENAI_API_KEY=test OPENAI_BASE_URL=http://127.0.0.1:8000/v1 go run ./worker":                             "",
	`export LLMCONC_CODEC_KEY="$(openssl rand -base64 32)"`:                                                    "TestEncryptedRun (a worker and a starter with the same LLMCONC_CODEC_KEY)",
	"go run ./starter -requests 10":                                                                            "TestEncryptedRun",
	"LLMCONC_CODEC_KEY=... go run ./cmd/codec-server":                                                          "TestEncryptedRun (the codec server decrypts the run's history over HTTP)",
	"go run ./cmd/simulator -tls -cert-file /tmp/sim.pem -http2-max-streams 100 -api-key test":                 "TestBurstOverTLSWithHTTP2 (the simulator binary with these flags, on a free port, its certificate in a temporary folder)",
	"SSL_CERT_FILE=/tmp/sim.pem OPENAI_API_KEY=test OPENAI_BASE_URL=https://127.0.0.1:8000/v1 go run ./worker": "TestBurstOverTLSWithHTTP2 (the worker binary trusting that certificate through SSL_CERT_FILE)",
	// docs/cli.md: the open-loop rate mode.
	"go run ./starter -passes concurrent -requests 200 -rate 20": "TestRateArrivesAtTheServer (the starter binary with these flags, and -seed, against the simulator binary)",
	// docs/goodput.md: -slo, against the simulator.
	"go run ./starter -slo ttft=500ms,tpot=50ms,latency=5s": "TestGoodput (-slo ttft and latency against the simulator, streamed)",

	// docs/endpoints.md: an Azure OpenAI entry, against the simulator's
	// Azure mode.
	"export AZURE_OPENAI_KEY=...":                            "TestAzureEndpoint (the key in the worker's environment, the variable its entry's key_env names)",
	"LLMCONC_ENDPOINTS=azure.json go run ./worker":           "TestAzureEndpoint (a worker with kind azure entries, against the simulator binary with -azure)",
	"go run ./starter -endpoint azure -model my-gpt-4o-mini": "TestAzureEndpoint (-endpoint ms-azure -model the deployment)",
	// docs/metrics.md: the worker's Prometheus metrics, and the compose
	// file's Prometheus and Grafana.
	"LLMCONC_METRICS_ADDR=127.0.0.1:9464 go run ./worker":                    "TestWorkerMetrics (the worker binary with LLMCONC_METRICS_ADDR, on a free port)",
	"curl -s http://127.0.0.1:9464/metrics | grep '^llmconc_requests_total'": "TestWorkerMetrics (scrapes its /metrics over HTTP and counts llmconc_requests_total)",
	"LLMCONC_METRICS_ADDR=:9464 go run ./worker":                             "TestWorkerMetrics and TestPrometheusScrapesTheWorkerPort (the port Prometheus scrapes)",
	"docker compose --profile metrics up -d":                                 "TestPrometheusScrapesTheWorkerPort and .ci/run (docker-compose config: the file is valid; CI has no Docker engine to start it)",
	// docs/compare.md: comparisons, against two simulator processes.
	"go run ./starter -endpoint local,groq -model llama-3.1-8b-instant -requests 10": "TestComparisonOfTwoEndpoints (an -endpoint list of two simulators' names, one model, -requests 4)",
	"go run ./starter -model gpt-4.1-nano,gpt-4.1-mini":                              "TestComparisonRerunFailedOnly (this -model list, with an -endpoint list)",
	// docs/schedules.md and docs/cli.md: schedules and trends, against
	// the simulator binary, with -every 2s, on a task queue of the test's.
	"go run ./starter schedule create -id nightly -every 1h -requests 10 -model gpt-4.1-nano": "TestScheduleTrendAndDelete (schedule create -id ID -every 2s -requests 3)",
	"go run ./starter schedule create -every 1h [run flags]":                                  "TestScheduleTrendAndDelete (schedule create -id ID -every 2s -requests 3 -max-tokens 8 -warmup 0 -task-queue Q)",
	"go run ./starter schedule list":                                                          "TestScheduleTrendAndDelete (the schedule's row, running, paused, then gone)",
	"go run ./starter schedule delete nightly":                                                "TestScheduleTrendAndDelete (no run starts after it)",
	"go run ./starter schedule delete ID":                                                     "TestScheduleTrendAndDelete",
	"go run ./starter trend -schedule nightly":                                                "TestScheduleTrendAndDelete",
	"go run ./starter trend -schedule nightly -html trend.html":                               "TestScheduleTrendAndDelete (the page's points, one per run)",
	"go run ./starter trend -schedule ID [-n 50] [-html FILE]":                                "TestScheduleTrendAndDelete (-html FILE, and -n 2 on the deleted schedule)",
	"go run ./starter trend -endpoint default -model gpt-4.1-nano -n 20":                      "TestScheduleTrendAndDelete (-n 3)",
	`temporal schedule toggle --schedule-id nightly --pause --reason "provider maintenance"`:  "TestScheduleTrendAndDelete (the Temporal CLI against the test's dev server; schedule list shows it paused)",
	`temporal schedule toggle --schedule-id nightly --unpause --reason "maintenance over"`:    "TestScheduleTrendAndDelete",
	"temporal schedule trigger --schedule-id nightly":                                         "TestScheduleTrendAndDelete (the triggered run starts while the schedule is paused)",
	`temporal workflow list --query "TemporalScheduledById = 'nightly'"`:                      "TestScheduleTrendAndDelete",
	// docs/first-contact.md: the demo's runs.
	"go run ./starter -dev list":                "TestDemoKeepsItsRuns",
	"go run ./starter -dev result WORKFLOW_ID":  "TestDemoKeepsItsRuns",
	"go run ./starter -dev rerun WORKFLOW_ID":   "TestDemoKeepsItsRuns",
	"go run ./starter -dev -attach WORKFLOW_ID": "TestDemoKeepsItsRuns and TestDemoRunInterruptedAndResumed",
	"go run ./starter -dev -dev-fresh":          "TestDemoKeepsItsRuns",
	// README.md and docs/probe.md: the probe, against the simulator.
	"go run ./starter probe -max-concurrency 32":               "TestProbeFindsTheConcurrencyCap and TestProbeReadsTheRateLimitHeaders (the same command against the simulator, with -max-concurrency 16)",
	"go run ./starter probe -max-concurrency 16 -max-tokens 8": "TestProbeFindsTheConcurrencyCap and TestProbeReadsTheRateLimitHeaders",
	// docs/operations.md: the production topology's test, run alone.
	"go test -race -count=1 -run TestProductionTopology -v ./e2e": "TestProductionTopology (CI runs it within the suite's go test command)",
	// docs/html-report.md and docs/security.md: commands that regenerate a
	// picture or fuzz longer; the package must hold the named test.
	"go test ./htmlreport/ -run TestDocsScreenshot -update-docs": "TestDocsScreenshot (skipped without -update-docs)",
	"go test -run '^$' -fuzz '^FuzzSSE$' -fuzztime 10m ./chat":   ".ci/run (fuzzes FuzzSSE, for a count of inputs)",
	// docs/versioning.md: the replay tests, and recording a history for
	// them, which this test does: its dev server stands for the one the
	// page starts, and the history goes to a temporary folder, not into
	// workflows/testdata. TestReplayInputAsGivenHistory replays one
	// recorded so.
	"go test -race ./workflows":                                                                            "TestReplayRecordedHistory, TestReplayInputAsGivenHistory and the other tests of the package (the whole suite runs them)",
	"temporal server start-dev --headless":                                                                 "",
	"go run ./cmd/simulator -latency 200ms -api-key replay-test-key-not-real":                              "",
	"OPENAI_API_KEY=replay-test-key-not-real OPENAI_BASE_URL=http://127.0.0.1:8000/v1 go run ./worker":     "",
	"go run ./starter -id replay-my-change -requests 3 -max-tokens 8":                                      "",
	"temporal workflow show -w replay-my-change --output json > workflows/testdata/my_change_history.json": "",
}

// docCommand is one command of a ```sh block, and the page that shows it.
type docCommand struct{ page, cmd string }

// docPages are README.md and the docs/ pages in the order a reader meets
// them: the README, then the pages in the order of its "Documentation"
// section. A docs/ page that section does not link is an error.
func docPages(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, toc, ok := strings.Cut(string(b), "\n## Documentation\n")
	if !ok {
		t.Fatal("README.md has no \"## Documentation\" section")
	}
	toc, _, _ = strings.Cut(toc, "\n## ")
	pages := []string{"README.md"}
	for _, m := range regexp.MustCompile(`\]\((docs/[^)#\s]+\.md)`).FindAllStringSubmatch(toc, -1) {
		if !slices.Contains(pages, m[1]) {
			pages = append(pages, m[1])
		}
	}
	all, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		if p := "docs/" + filepath.Base(f); !slices.Contains(pages, p) {
			t.Errorf("README.md's Documentation section does not link %s", p)
		}
	}
	return pages
}

// readmeCommands returns the commands of the ```sh blocks of the pages, in
// docPages order: a line ending in \ joined with the next, a quote left open
// joined with the lines up to its close, comments and indentation removed,
// whitespace collapsed.
func readmeCommands(t *testing.T) []docCommand {
	t.Helper()
	var cmds []docCommand
	for _, page := range docPages(t) {
		b, err := os.ReadFile(filepath.Join(repoRoot, page))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range shCommands(string(b)) {
			cmds = append(cmds, docCommand{page, c})
		}
	}
	return cmds
}

// shCommands returns the commands of the ```sh blocks of a Markdown text.
func shCommands(text string) []string {
	var cmds []string
	in, pending := false, ""
	for _, line := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			in = trim == "```sh"
			continue
		}
		if !in {
			continue
		}
		line = strings.TrimSpace(stripComment(pending + " " + trim))
		if strings.HasSuffix(line, "\\") {
			pending = strings.TrimSuffix(line, "\\")
			continue
		}
		if strings.Count(line, "'")%2 == 1 {
			pending = line
			continue
		}
		pending = ""
		if c := strings.Join(strings.Fields(line), " "); c != "" {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// stripComment removes a # comment outside quotes.
func stripComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

// words splits a command as a shell would, for the quoting the README uses.
func words(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	have := false
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, have = r, true
		case r == ' ':
			if have || cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
			have = false
		default:
			cur.WriteRune(r)
		}
	}
	if have || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// TestREADMECommands runs the commands that README.md and the docs/ pages
// show, in the order a reader would (the README, then the pages in the
// order of its table of contents), as one shell session: `export` sets the
// session's environment, `VAR=value cmd` the command's. What stands for the
// reader's own values is given test values: `...` keys (the simulator's, or
// a dummy for a host the test cannot reach), WORKFLOW_ID and ID (the run the
// session started), NEW_ID and FILE, `[optional flags]` given. `go run ./X`
// runs the binary TestMain built from the same source with `go build`, the
// Temporal commands get the test's dev server's --address, and the
// simulator listens on a free port, which stands for 127.0.0.1:8000
// wherever it appears (on a shared machine 8000 may be taken). The commands
// of the real-endpoint section that name api.openai.com run against the
// simulator instead. Commands run elsewhere are named in readmeCoverage; a
// `go test` command among them must name a test that its package has.
func TestREADMECommands(t *testing.T) {
	docCmds := readmeCommands(t)
	var cmds []string
	for _, dc := range docCmds {
		cmds = append(cmds, dc.cmd)
		if _, ok := readmeCoverage[dc.cmd]; !ok {
			t.Errorf("%s: command not covered (add it to readmeCoverage, with what runs it): %s", dc.page, dc.cmd)
		}
	}
	tests := testNames(t)
	ci, err := os.ReadFile(filepath.Join(repoRoot, ".ci/run"))
	if err != nil {
		t.Fatal(err)
	}
	for c, by := range readmeCoverage {
		if !slices.Contains(cmds, c) {
			t.Errorf("readmeCoverage lists a command neither the README nor a docs/ page shows: %s", c)
		}
		for _, name := range regexp.MustCompile(`Test\w+`).FindAllString(by, -1) {
			if !tests[name] {
				t.Errorf("readmeCoverage names %s for %q, but there is no such test", name, c)
			}
		}
		if strings.Contains(by, ".ci/run") {
			want := "docker-compose"
			if strings.HasPrefix(c, "go test") {
				want = "\n" + c + "\n"
			}
			if m := regexp.MustCompile(`-fuzz '\^(\w+)\$'`).FindStringSubmatch(c); m != nil {
				want = ":" + m[1] + ":"
			}
			if !strings.Contains(string(ci), want) {
				t.Errorf(".ci/run does not run %q (it has no %q)", c, want)
			}
		}
		if err := goTestTarget(c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if t.Failed() {
		return
	}

	cli, ok := devserver.FindCLI()
	if !ok {
		t.Fatal("no Temporal CLI")
	}
	// simAddr is the address of the simulator the session started last
	// (the first one until a page starts another): 127.0.0.1:8000 stands
	// for it.
	var simAddr string
	session := map[string]string{}
	values := map[string]string{"OPENAI_API_KEY": "test", "LOCAL_KEY": "test", "GROQ_KEY": "gsk-dummy-for-the-readme-test-" + randHex(4)}
	var workflowID string
	bins := map[string]string{"./worker": workerBin, "./starter": starterBin, "./cmd/simulator": simBin}
	var worker *proc

	// prepare turns a README command into what the test runs: the binary,
	// its arguments and its environment.
	prepare := func(c string) (bin string, args, env []string) {
		c = strings.ReplaceAll(c, "127.0.0.1:8000", simAddr)
		w := words(c)
		env = binEnv()
		for k, v := range session {
			env = append(env, k+"="+v)
		}
		for len(w) > 0 && strings.Contains(w[0], "=") {
			env = append(env, w[0])
			w = w[1:]
		}
		if len(w) >= 3 && w[0] == "go" && w[1] == "run" {
			bin, w = bins[w[2]], w[3:]
		} else if w[0] == "temporal" {
			bin, w = cli, append(w[1:], "--address", devAddr)
		}
		for _, a := range w {
			a = strings.Trim(a, "[]")
			switch a {
			case "WORKFLOW_ID", "ID":
				a = workflowID
			case "NEW_ID":
				a = "readme-rerun-" + randHex(4)
			case "FILE":
				a = filepath.Join(t.TempDir(), "readme-"+randHex(4))
			}
			args = append(args, a)
		}
		// -out FILE and -html FILE: a JSON and an HTML file.
		for i := 1; i < len(args); i++ {
			switch args[i-1] {
			case "-out":
				args[i] += ".json"
			case "-html":
				args[i] += ".html"
			}
		}
		return bin, args, env
	}
	run := func(c string, wantCode int) *proc {
		t.Helper()
		bin, args, env := prepare(c)
		if bin == "" {
			t.Fatalf("no way to run %q", c)
		}
		p := startProc(t, c, bin, env, args...)
		if code := p.wait(t, 3*time.Minute); code != wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s", c, code, wantCode, p.output())
		}
		return p
	}
	background := func(c string) *proc {
		t.Helper()
		bin, args, env := prepare(c)
		return startProc(t, c, bin, env, args...)
	}

	// The simulators the session runs first, each on a free port: the
	// sections before the simulator's own page use the first.
	sims := map[string]string{}
	for _, c := range cmds {
		if strings.HasPrefix(c, "go run ./cmd/simulator") && readmeCoverage[c] == "" && sims[c] == "" {
			addr := freeAddr(t)
			bin, args, env := prepare(c)
			startProc(t, "simulator", bin, env, append(args, "-addr", addr)...)
			waitListening(t, addr)
			sims[c] = addr
			if simAddr == "" {
				simAddr = addr
			}
		}
	}
	if simAddr == "" {
		t.Fatal("neither the README nor a docs/ page starts a simulator")
	}
	for _, dc := range docCmds {
		c := dc.cmd
		if readmeCoverage[c] != "" {
			continue
		}
		t.Logf("%s: %s", dc.page, c)
		switch {
		case strings.HasPrefix(c, "export "):
			for _, kv := range words(strings.TrimPrefix(c, "export ")) {
				k, v, _ := strings.Cut(kv, "=")
				if v == "..." {
					v = values[k]
				}
				if k == "OPENAI_BASE_URL" {
					v = "http://" + simAddr + "/v1" // api.openai.com is out of reach
				}
				session[k] = strings.ReplaceAll(v, "127.0.0.1:8000", simAddr)
			}
		case strings.HasPrefix(c, "go run ./cmd/simulator"):
			simAddr = sims[c] // started above
		case strings.HasPrefix(c, "temporal server start-dev"):
			// The test's dev server, which devserver.Start runs with
			// `temporal server start-dev --headless`, stands for it.
		case strings.Contains(c, " > "):
			// The output goes to a temporary file, not into the repository.
			c, target, _ := strings.Cut(c, " > ")
			bin, args, env := prepare(c)
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("%s: %v\n%s", c, err, stderr.String())
			}
			if err := os.WriteFile(filepath.Join(t.TempDir(), filepath.Base(target)), out, 0o600); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(target, "_history.json") {
				var h struct{ Events []json.RawMessage }
				if err := json.Unmarshal(out, &h); err != nil || len(h.Events) == 0 {
					t.Errorf("%s: no history in its output (%v)", c, err)
				}
				if strings.Contains(string(out), "replay-test-key-not-real") {
					t.Errorf("%s: the history holds the key", c)
				}
			}
		case strings.HasSuffix(c, "go run ./worker"):
			if worker != nil {
				worker.stop(t)
			}
			if c == "go run ./worker" && session["LLMCONC_ENDPOINTS"] != "" {
				// The endpoints section serves default only with a key of
				// its own: the session's is the first section's.
				delete(session, "OPENAI_API_KEY")
				delete(session, "OPENAI_BASE_URL")
			}
			worker = background(c)
		case c == "go run ./starter -requests 10 -model gpt-4.1-nano":
			p := run(c, 0)
			m := regexp.MustCompile(`Started run (\S+) `).FindStringSubmatch(p.stdout.String())
			if m == nil {
				t.Fatalf("%s: no run ID in its output\n%s", c, p.output())
			}
			workflowID = m[1]
			if _, err := os.Stat(filepath.Join(p.cmd.Dir, "test_results_"+workflowID+".json")); err != nil {
				t.Errorf("%s wrote no test_results_<workflow ID>.json: %v", c, err)
			}
		case c == "go run ./starter rerun -failed-only WORKFLOW_ID":
			// The session's run has no failed request: one line, exit 2.
			// A run with one (a prompt asking the simulator for a 500)
			// gets it resent.
			p := run(c, 2)
			if !strings.Contains(p.stderr.String(), "no failed request") {
				t.Errorf("%s on a run without failures: %s", c, p.stderr.String())
			}
			prompts := filepath.Join(t.TempDir(), "prompts.txt")
			if err := os.WriteFile(prompts, []byte("[fault:error500] fails\nsucceeds\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			saved := workflowID
			p = run("go run ./starter -requests 2 -passes sequential -prompts "+prompts, 0)
			workflowID = regexp.MustCompile(`Started run (\S+) `).FindStringSubmatch(p.stdout.String())[1]
			p = run(c, 0)
			if !strings.Contains(p.stdout.String(), "Merged with run "+workflowID) {
				t.Errorf("%s: no merge\n%s", c, p.output())
			}
			workflowID = saved
		case strings.Contains(c, "search-attribute create"):
			// The test's dev server has them: Temporal answers that they
			// exist. On a fresh one, they are created.
			bin, args, _ := prepare(c)
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil && !strings.Contains(string(out), "already") {
				t.Errorf("%s: %v\n%s", c, err, out)
			}
			fresh, err := devserver.Start(context.Background(), devserver.Options{CLI: cli, UIPort: -1})
			if err != nil {
				t.Fatal(err)
			}
			args[len(args)-1] = fresh.Address
			out, err = exec.Command(bin, args...).CombinedOutput()
			fresh.Stop()
			if err != nil {
				t.Errorf("%s on a fresh server: %v\n%s", c, err, out)
			}
		case strings.Contains(c, "--event-id EVENT_ID"):
			// As the README says: the workflow task completed just before
			// the concurrent pass was scheduled. The reset sends the
			// concurrent pass again, with the worker, to a completed run.
			bin, args, env := prepare(strings.ReplaceAll(c, "EVENT_ID", strconv.FormatInt(beforeConcurrentPass(t, workflowID), 10)))
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", c, err, out)
			}
			waitCompleted(t, workflowID)
		case strings.HasPrefix(c, "temporal "):
			bin, args, env := prepare(c)
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s: %v\n%s", c, err, out)
			}
			if strings.Contains(c, "reset") {
				waitCompleted(t, workflowID)
			}
		default:
			run(c, 0)
		}
	}
}

// testNames are the names of the repository's tests (every package's).
func testNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for name := range testIndex(t) {
		names[name] = true
	}
	return names
}

// testIndex maps the name of every test, benchmark and fuzz target of the
// repository to the folders (relative, slash-separated) whose packages
// declare it.
func testIndex(t *testing.T) map[string][]string {
	t.Helper()
	index := map[string][]string{}
	err := filepath.WalkDir(repoRoot, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && file != repoRoot {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(file, "_test.go") {
			return nil
		}
		dir, err := filepath.Rel(repoRoot, filepath.Dir(file))
		if err != nil {
			return err
		}
		for _, name := range testFuncs(t, file) {
			index[name] = append(index[name], filepath.ToSlash(dir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return index
}

// testFuncs are the tests, benchmarks and fuzz targets a _test.go file
// declares.
func testFuncs(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w+)\(\w+ \*testing\.[TFB]\)`).FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	return names
}

// goTestTarget checks a `go test` command that names one package (./dir)
// and one test or fuzz target (-run or -fuzz '^Name$', or a bare name):
// that the package exists and declares that test. Other commands pass.
func goTestTarget(c string) error {
	w := words(c)
	if len(w) < 2 || w[0] != "go" || w[1] != "test" {
		return nil
	}
	var dir, name string
	for i, a := range w[2:] {
		switch {
		case strings.HasPrefix(a, "./") && !strings.HasSuffix(a, "..."):
			dir = a
		case (a == "-run" || a == "-fuzz") && i+3 < len(w):
			if n := strings.Trim(w[i+3], "^$"); regexp.MustCompile(`^\w+$`).MatchString(n) {
				name = n
			}
		}
	}
	if dir == "" || name == "" {
		return nil
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no package with tests at %s", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`(?m)^func ` + name + `\(`).Match(b) {
			return nil
		}
	}
	return fmt.Errorf("package %s has no %s", dir, name)
}

// freeAddr is a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening waits until something accepts connections at addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens at %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a port: no event to wait on
	}
}

// waitCompleted waits until the latest run of id has completed.
func waitCompleted(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Errorf("run %s after the reset: %v", id, err)
	}
}

// beforeConcurrentPass is the ID of the WorkflowTaskCompleted event before
// the first activity of run id's concurrent pass was scheduled.
func beforeConcurrentPass(t *testing.T, id string) int64 {
	t.Helper()
	ctx := context.Background()
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var lastWFT int64
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			lastWFT = ev.GetEventId()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			for _, p := range ev.GetActivityTaskScheduledEventAttributes().GetInput().GetPayloads() {
				if bytes.Contains(p.GetData(), []byte(`"concurrent"`)) {
					return lastWFT
				}
			}
		}
	}
	t.Fatalf("run %s scheduled no activity of its concurrent pass", id)
	return 0
}

// TestREADMEFirstScreen checks what a newcomer sees before scrolling (the
// first 40 lines of README.md): the two commands, byte for byte as .ci/run
// and the newcomer's test run them, and a picture of the two passes.
func TestREADMEFirstScreen(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	screen := strings.Join(lines[:min(40, len(lines))], "\n")
	const commands = "```sh\n" +
		"go run ./starter -dev                  # the complete demo; needs no key\n" +
		"go test -race -timeout 20m ./...       # the tests (unit and end-to-end)\n" +
		"```\n"
	if !strings.Contains(screen, commands) {
		t.Errorf("the first 40 lines of README.md do not show the two commands:\n%s", commands)
	}
	if !regexp.MustCompile(`!\[[^\]]*\]\(docs/[\w.-]+\.png\)|<img src="docs/[\w.-]+\.png"`).MatchString(screen) {
		t.Error("the first 40 lines of README.md show no picture from docs/")
	}
}

// TestDocLinks checks every relative link and image of README.md and the
// docs/ pages: the file exists and, for a link to a Markdown heading, the
// page has that heading (GitHub's anchors: lowercase, spaces to '-',
// punctuation dropped, a repeated heading numbered -1, -2…). A file of the
// repository named in code (`e2e/crash_test.go`, `deploy/…/x.yaml`) must
// exist too. Every docs/
// page opens with a title and a paragraph that links back to the README.
func TestDocLinks(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{filepath.Join(repoRoot, "README.md")}, pages...)
	repoFile := regexp.MustCompile("`" + `([a-z][\w.-]*(?:/[\w.-]+)+\.(?:go|sh|ya?ml|json))` + "`")
	link := regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)|<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"`)
	checked := 0
	for _, page := range pages {
		rel, _ := filepath.Rel(repoRoot, page)
		text := markdownText(t, page)
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1] + m[2]
			if regexp.MustCompile(`^[a-z][a-z0-9+.-]*:`).MatchString(target) {
				continue // http:, https:, mailto:
			}
			checked++
			file, anchor, _ := strings.Cut(target, "#")
			dest := page
			if file != "" {
				dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: broken link %s: %v", rel, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(dest, ".md") && !slices.Contains(headingAnchors(t, dest), anchor) {
				t.Errorf("%s: link %s: %s has no heading with anchor #%s (it has %v)", rel, target, file, anchor, headingAnchors(t, dest))
			}
		}
		// Files of the repository named in code spans (`e2e/crash_test.go`).
		for _, m := range repoFile.FindAllStringSubmatch(mustRead(t, page), -1) {
			checked++
			if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(m[1]))); err != nil {
				t.Errorf("%s names %s, which the repository does not have", rel, m[1])
			}
		}
		if rel == "README.md" {
			continue
		}
		// The title, then the summary paragraph.
		paras := strings.Split(strings.TrimSpace(text), "\n\n")
		if len(paras) < 2 || !strings.HasPrefix(paras[0], "# ") || !strings.Contains(paras[1], "](../README.md") {
			t.Errorf("%s does not open with a title and a summary paragraph linking back to the README", rel)
		}
	}
	if checked < 20 {
		t.Errorf("only %d relative links found: is the link pattern still right?", checked)
	}
}

// mustRead is the content of a file.
func mustRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// markdownText is a Markdown file with its fenced code blocks and inline
// code spans (which may run over lines) blanked out: links and headings in
// code are not links and headings.
func markdownText(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
			out = append(out, "")
			continue
		}
		if fence {
			out = append(out, "")
			continue
		}
		out = append(out, line)
	}
	// A code span may run over lines; it keeps its line breaks.
	return regexp.MustCompile("`[^`]*`").ReplaceAllStringFunc(strings.Join(out, "\n"), func(span string) string {
		return "code" + strings.Repeat("\n", strings.Count(span, "\n"))
	})
}

// headingAnchors are the anchors GitHub gives the headings of a Markdown
// file.
func headingAnchors(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var anchors []string
	seen := map[string]int{}
	fence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
		}
		m := regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`).FindStringSubmatch(line)
		if fence || m == nil {
			continue
		}
		a := githubAnchor(m[1])
		if n := seen[a]; n > 0 {
			anchors = append(anchors, a+"-"+strconv.Itoa(n))
		} else {
			anchors = append(anchors, a)
		}
		seen[a]++
	}
	return anchors
}

// githubAnchor is GitHub's anchor of a heading: the text of its links,
// lowercase, letters, digits, '-' and '_' kept, spaces to '-', the rest
// dropped.
func githubAnchor(heading string) string {
	heading = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// TestDocTestNames checks that every test the documentation names as the
// proof of a claim exists: `TestX` in some package, `pkg.TestX` in a
// package whose folder is named pkg. A test renamed or moved to another
// package fails it until the page says where the claim's test now is.
func TestDocTestNames(t *testing.T) {
	index := testIndex(t)
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`(?:\b([a-z][a-z0-9]*)\.)?\b((?:Test|Fuzz|Benchmark)[A-Z]\w*)`)
	found := 0
	for _, page := range append([]string{filepath.Join(repoRoot, "README.md")}, pages...) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, page)
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			found++
			pkg, name := m[1], m[2]
			dirs, ok := index[name]
			switch {
			case !ok:
				t.Errorf("%s names %s, but no package has that test", rel, m[0])
			case pkg != "" && !slices.ContainsFunc(dirs, func(d string) bool { return path.Base(d) == pkg }):
				t.Errorf("%s names %s, but %s is in %v", rel, m[0], name, dirs)
			}
		}
	}
	if found < 10 {
		t.Errorf("only %d test names found in the documentation: is the pattern still right?", found)
	}
}
