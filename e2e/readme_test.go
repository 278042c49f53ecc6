package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/llmconc/llmconc/devserver"
)

// readmeCoverage says, for every command in README.md's ```sh blocks, what
// runs it: this test ("") or the named test or .ci/run. TestREADMECommands
// fails on a README command missing here (add it, and a way to run it), and
// on an entry the README no longer has.
var readmeCoverage = map[string]string{
	"go run ./starter -dev":            "TestNewcomer and TestDevDemo (the newcomer's environment; TestDemoKeepsItsRuns for -dev list/result/rerun/-attach)",
	"go test -race -timeout 20m ./...": ".ci/run",
	"docker compose up -d":             "TestDockerComposeConfig and .ci/run (docker-compose config: the file is valid; CI has no Docker engine to start it)",
	// Against the real API in the README; here against the simulator the
	// README starts (same command, the simulator's URL and key).
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
}

// readmeCommands returns the commands of README.md's ```sh blocks: a line
// ending in \ joined with the next, a quote left open joined with the lines
// up to its close, comments and indentation removed, whitespace collapsed.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in, pending := false, ""
	for _, line := range strings.Split(string(b), "\n") {
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

// TestREADMECommands runs the commands the README shows, in the order a
// reader would, as a shell session: `export` sets the session's
// environment, `VAR=value cmd` the command's. What stands for the reader's
// own values is given test values: `...` keys (the simulator's, or a dummy
// for a host the test cannot reach), WORKFLOW_ID and ID (the run the session
// started), NEW_ID and FILE, `[optional flags]` given. `go run ./X` runs the
// binary TestMain built from the same source with `go build`, the Temporal
// commands get the test's dev server's --address, and the simulator listens
// on a free port, which stands for 127.0.0.1:8000 wherever it appears (on
// a shared machine 8000 may be taken). The commands of the real-endpoint
// section that name api.openai.com run against the simulator instead.
// Commands run elsewhere are named in readmeCoverage.
func TestREADMECommands(t *testing.T) {
	cmds := readmeCommands(t)
	for _, c := range cmds {
		if _, ok := readmeCoverage[c]; !ok {
			t.Errorf("README command not covered (add it to readmeCoverage, with what runs it): %s", c)
		}
	}
	tests := testNames(t)
	for c, by := range readmeCoverage {
		if !slices.Contains(cmds, c) {
			t.Errorf("readmeCoverage lists a command the README does not show: %s", c)
		}
		for _, name := range regexp.MustCompile(`Test\w+`).FindAllString(by, -1) {
			if !tests[name] {
				t.Errorf("readmeCoverage names %s for %q, but there is no such test", name, c)
			}
		}
		if strings.Contains(by, ".ci/run") {
			ci, err := os.ReadFile(filepath.Join(repoRoot, ".ci/run"))
			if err != nil || (c == "go test -race -timeout 20m ./..." && !strings.Contains(string(ci), "\ngo test -race -timeout 20m ./...\n")) {
				t.Errorf(".ci/run does not run %q (err %v)", c, err)
			}
		}
	}
	if t.Failed() {
		return
	}

	cli, ok := devserver.FindCLI()
	if !ok {
		t.Fatal("no Temporal CLI")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	simAddr := l.Addr().String()
	l.Close()
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

	// The simulator first: the sections before its own use it.
	simStarted := false
	for _, c := range cmds {
		if strings.HasPrefix(c, "go run ./cmd/simulator") {
			bin, args, env := prepare(c)
			startProc(t, "simulator", bin, env, append(args, "-addr", simAddr)...)
			waitListening(t, simAddr)
			simStarted = true
		}
	}
	if !simStarted {
		t.Fatal("the README starts no simulator")
	}
	for _, c := range cmds {
		if readmeCoverage[c] != "" {
			continue
		}
		t.Logf("README: %s", c)
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
			// Started above.
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

// testNames are the names of the package's tests.
func testNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "e2e", "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`).FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
	}
	return names
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
