package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/testrun"
	"github.com/llmconc/llmconc/workflows"
)

// The production topology, run for real without Docker: what
// docker-compose.yml runs, process by process, on this machine.
//
//   - postgresql: a PostgreSQL of the major version the compose file pins,
//     in a temporary folder, on a free loopback port, with the user and
//     password (scram-sha-256) the compose file gives the image;
//   - temporal-schema-setup: the compose file's entrypoint (sh and the
//     mounted deploy/scripts/setup-schema.sh) with its environment, and
//     temporal-sql-tool built from the Temporal server module at the version
//     the compose file pins; run twice, as every `docker compose up` does;
//   - temporal: temporal-server built from the same module, started as the
//     image starts it (`temporal-server --env docker start` in a folder
//     whose config/docker.yaml is the image's config template rendered from
//     the compose file's environment, as the image's entrypoint renders it
//     with dockerize), with the compose file's dynamic config through its
//     volume;
//   - temporal-create-namespace: the compose file's entrypoint
//     (deploy/scripts/create-namespace.sh) with the temporal CLI;
//   - then the project's worker and starter binaries against the simulator
//     binary, and the Temporal server killed (SIGKILL) and restarted twice:
//     during the sequential pass, and while the concurrent pass's batch has
//     requests answered and others in flight.
//
// The compose network's names and ports become loopback addresses: the
// service names resolve to 127.0.0.1, and each port a service listens on
// becomes a free one (the server's every gRPC and membership port too, so
// that the test runs beside any other Temporal). Everything else is the
// compose file's, read from it here, so that the two cannot drift.

const (
	// envTopologyBin names the folder that holds temporal-server-vX and
	// temporal-sql-tool-vX (X the version the compose file pins); by
	// default GOBIN, else GOPATH's first bin folder, where .ci/run puts them.
	envTopologyBin = "LLMCONC_TOPOLOGY_BIN"
	// envPGBin names the folder of PostgreSQL's initdb and pg_ctl (default:
	// /usr/lib/postgresql/MAJOR/bin, Debian's, MAJOR the compose file's).
	envPGBin = "LLMCONC_PG_BIN"

	// postgresContainerPort is the port the postgres image listens on.
	postgresContainerPort = "5432"
)

// Temporal's server ports that the config template takes from the
// environment, besides the frontend's gRPC port: each gets a free one.
var temporalPortVars = []string{
	"FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT",
	"MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT",
	"HISTORY_GRPC_PORT", "HISTORY_MEMBERSHIP_PORT",
	"WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT",
}

// TestProductionTopology runs docker-compose.yml's Temporal on PostgreSQL
// without Docker (see the comment above), a run through it, and two crashes
// and restarts of the Temporal server mid-run: the run completes with every
// request once.
func TestProductionTopology(t *testing.T) {
	cf := readCompose(t)
	tp := newTopology(t, cf)

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	tp.startPostgres(ctx, t)
	// Twice: the compose file runs it on every `docker compose up`.
	for i := 1; i <= 2; i++ {
		tp.runEntrypoint(ctx, t, "temporal-schema-setup", nil)
	}
	tp.checkRenderedConfig(ctx, t)
	server := tp.startServer(t)
	tp.runEntrypoint(ctx, t, "temporal-create-namespace", server)

	c, err := client.DialContext(ctx, client.Options{
		HostPort: tp.frontend(), Namespace: tp.namespace(), Logger: temporalenv.QuietLogger(io.Discard),
	})
	if err != nil {
		t.Fatalf("dial the topology's Temporal: %v", err)
	}
	defer c.Close()

	const n = 6
	key := "e2e-topology-key-" + randHex(8)
	simBase := startSimulatorProcess(t, "-latency", crashLatency.String(), "-api-key", key, "-seed", "13")
	runEnv := func(extra ...string) []string {
		return append([]string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + homeDir,
			"TEMPORAL_ADDRESS=" + tp.frontend(), "TEMPORAL_NAMESPACE=" + tp.namespace(),
		}, extra...)
	}
	startProc(t, "worker", workerBin, runEnv("OPENAI_API_KEY="+key, "OPENAI_BASE_URL="+simBase))
	id := "e2e-topology-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	args := crashRunArgs(id, out)
	for i, a := range args {
		if a == "-passes" {
			args[i+1] = "both"
		}
	}
	starter := startProc(t, "starter", starterBin, runEnv(), args...)

	// Two crashes, each SIGKILL and then the same server again on the same
	// database: once the run's progress shows 2 requests of the sequential
	// pass done, and once the concurrent pass's batch has 3 requests
	// answered and 3 in flight (its heartbeat says so).
	waitProgress(ctx, t, c, id, starter, func(p testrun.Progress) bool { return p.Sequential.Done >= 2 })
	server.kill9()
	tp.log(t, "killed the Temporal server (SIGKILL) during the sequential pass; restarting it")
	server = tp.startServer(t)
	waitBatchProgress(ctx, t, c, id, starter, midBatch)
	server.kill9()
	tp.log(t, "killed the Temporal server (SIGKILL) mid-batch; restarting it")
	server = tp.startServer(t)
	restartedAt := time.Now()

	if code := starter.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s\n%s", code, starter.output(), tp.serverTail(server))
	}
	d, _ := readCrashDoc(t, out, n)
	checkSequentialOnce(t, out, n)

	desc, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatalf("describe the run on the restarted server: %v", err)
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if closed := info.GetCloseTime().AsTime(); !closed.After(restartedAt) {
		t.Errorf("the run closed at %s, before the restart at %s: the test did not restart the server mid-run", closed, restartedAt)
	}
	// The search attributes that create-namespace.sh registered are on the run.
	for _, sa := range []string{"LlmModel", "LlmRequests", "LlmPasses", "LlmVerdict"} {
		if _, ok := info.GetSearchAttributes().GetIndexedFields()[sa]; !ok {
			t.Errorf("the run carries no search attribute %s: create-namespace.sh did not register it", sa)
		}
	}
	// Every send reached the endpoint once: 2 passes of n, plus the
	// requests a batch retried after the restart had to send again.
	if got, want := simulatorChatRequests(t, simBase), 2*n+d.Concurrent.ResentAfterWorkerLoss; got != want {
		t.Errorf("the simulator answered %d chat requests; want %d (2 × %d, + %d resent)", got, want, n, d.Concurrent.ResentAfterWorkerLoss)
	}
	t.Logf("Temporal %s on PostgreSQL %s: run %s complete after two server crashes (%d requests sent again by a retried batch)",
		tp.version, tp.pgMajor, id, d.Concurrent.ResentAfterWorkerLoss)
}

// waitProgress polls the run's progress query (answered by the worker
// through the server) until cond holds. It fails the test if the starter
// exits first or at ctx's deadline.
func waitProgress(ctx context.Context, t *testing.T, c client.Client, id string, starter *proc, cond func(testrun.Progress) bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last testrun.Progress
	for {
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery, 0); err == nil {
			if err := v.Get(&last); err == nil && cond(last) {
				return
			}
		}
		select {
		case <-starter.done:
			t.Fatalf("the starter exited first\n%s", starter.output())
		case <-ctx.Done():
			t.Fatalf("run %s never got there; last progress: phase %s, sequential %d/%d, concurrent %d/%d", id, last.Phase,
				last.Sequential.Done, last.Sequential.Total, last.Concurrent.Done, last.Concurrent.Total)
		case <-tick.C:
		}
	}
}

// checkSequentialOnce checks the result's sequential pass: n successful
// records, each index once.
func checkSequentialOnce(t *testing.T, path string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Sequential *struct {
			Successful int `json:"successful"`
			Requests   []struct {
				Index int  `json:"index"`
				OK    bool `json:"ok"`
			} `json:"requests"`
		} `json:"sequential"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode the result JSON: %v", err)
	}
	if d.Sequential == nil {
		t.Fatal("no sequential pass in the JSON")
	}
	seen := map[int]bool{}
	for _, r := range d.Sequential.Requests {
		if seen[r.Index] || r.Index < 0 || r.Index >= n || !r.OK {
			t.Errorf("sequential request %d: duplicate, out of range or failed (ok %v)", r.Index, r.OK)
		}
		seen[r.Index] = true
	}
	if len(seen) != n || d.Sequential.Successful != n {
		t.Errorf("sequential pass: %d distinct requests, %d successful; want %d", len(seen), d.Sequential.Successful, n)
	}
}

// simulatorChatRequests is the number of chat requests the simulator at
// base (its /v1 URL) has answered or given up on, from GET /sim/stats.
func simulatorChatRequests(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(base, "/v1") + "/sim/stats")
	if err != nil {
		t.Fatalf("GET /sim/stats: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /sim/stats: %v", err)
	}
	st, err := simulator.StatsFromJSON(b)
	if err != nil {
		t.Fatalf("decode /sim/stats: %v: %s", err, b)
	}
	total := 0
	for _, n := range st.ChatStatusCounts {
		total += n
	}
	return total
}

// composeFile is the part of docker-compose.yml the test runs.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Ports       []string          `yaml:"ports"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"postgresql", "temporal-schema-setup", "temporal", "temporal-create-namespace"} {
		if _, ok := cf.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no service %s", name)
		}
	}
	return cf
}

// imageTag is the tag of image ("repo:tag"), or "" when it has none or
// is not of repo.
func imageTag(image, repo string) string {
	r, tag, ok := strings.Cut(image, ":")
	if !ok || r != repo {
		return ""
	}
	return tag
}

// hostPath maps a path inside the service's container to the repository
// file its bind mount (./dir:/container/dir) holds.
func (s composeService) hostPath(p string) (string, bool) {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "./") {
			continue
		}
		if rest, ok := strings.CutPrefix(p, parts[1]); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
			return filepath.Join(repoRoot, parts[0], rest), true
		}
	}
	return "", false
}

// topology is the test's stand-in for the compose project.
type topology struct {
	compose   composeFile
	version   string // the Temporal server version, "v1.29.1"
	pgMajor   string // the PostgreSQL major version, "15"
	serverBin string
	sqlBin    string
	pgBin     string
	cliBin    string
	dir       string            // the temporary folder (PostgreSQL's data, the server's config)
	ports     map[string]string // container port -> the test's port
	extraPort map[string]string // the server's own port variables -> the test's ports
	pgUser    *user.User        // the user PostgreSQL runs as (nil: the test's own)
}

// newTopology reads the versions the compose file pins and finds what runs
// them. What is missing skips the test, as a missing chromium or
// prometheus does, on a machine with only Go (the README's test command);
// with the environment variable CI set, as .ci/run sets it, it fails.
func newTopology(t *testing.T, cf composeFile) *topology {
	t.Helper()
	tp := &topology{compose: cf, ports: map[string]string{}, extraPort: map[string]string{}}
	tag := imageTag(cf.Services["temporal"].Image, "temporalio/server")
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(tag) {
		t.Fatalf("docker-compose.yml: temporal's image %q pins no temporalio/server:X.Y.Z", cf.Services["temporal"].Image)
	}
	tp.version = "v" + tag
	for _, svc := range []string{"temporal-schema-setup", "temporal-create-namespace"} {
		if at := imageTag(cf.Services[svc].Image, "temporalio/admin-tools"); !strings.HasPrefix(at, tag+"-") && at != tag {
			t.Errorf("docker-compose.yml: %s's image %q is not admin-tools %s, the server's version (its schema must match the server)", svc, cf.Services[svc].Image, tag)
		}
	}
	tp.pgMajor = imageTag(cf.Services["postgresql"].Image, "postgres")
	if !regexp.MustCompile(`^\d+$`).MatchString(tp.pgMajor) {
		t.Fatalf("docker-compose.yml: postgresql's image %q pins no postgres:MAJOR", cf.Services["postgresql"].Image)
	}

	var missing []string
	binDir := os.Getenv(envTopologyBin)
	if binDir == "" {
		binDir = goBinDir(t)
	}
	tp.serverBin = filepath.Join(binDir, "temporal-server-"+tp.version)
	tp.sqlBin = filepath.Join(binDir, "temporal-sql-tool-"+tp.version)
	if !isExecutable(tp.serverBin) || !isExecutable(tp.sqlBin) {
		missing = append(missing, fmt.Sprintf("%s and %s (bash .ci/run builds them; or %s; %s names another folder)",
			tp.serverBin, tp.sqlBin, topologyBuildHint(tp.version, binDir), envTopologyBin))
	}
	tp.pgBin = os.Getenv(envPGBin)
	if tp.pgBin == "" {
		tp.pgBin = filepath.Join("/usr/lib/postgresql", tp.pgMajor, "bin")
	}
	for _, b := range []string{"initdb", "pg_ctl"} {
		if !isExecutable(filepath.Join(tp.pgBin, b)) {
			missing = append(missing, fmt.Sprintf("PostgreSQL %s's %s in %s (set %s to its folder)", tp.pgMajor, b, tp.pgBin, envPGBin))
		}
	}
	for _, b := range []string{"nc", "psql"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b+" on PATH (setup-schema.sh uses it, as in the admin-tools image; Debian packages netcat-openbsd and postgresql-client)")
		}
	}
	cli, ok := devserver.FindCLI()
	if !ok {
		missing = append(missing, "the temporal CLI (go install "+devserver.CLIPackage+")")
	}
	tp.cliBin = cli
	if len(missing) > 0 {
		msg := "the production topology needs: " + strings.Join(missing, "; ")
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: bash .ci/run installs and builds them)")
		}
		t.Skip(msg + " (skipped; bash .ci/run installs and builds them; with CI set, this fails instead)")
	}
	if out, err := exec.Command(tp.serverBin, "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), strings.TrimPrefix(tp.version, "v")) {
		t.Fatalf("%s --version: %v %s; want %s", tp.serverBin, err, out, tp.version)
	}

	dir, err := os.MkdirTemp("", "llmconc-topology-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tp.dir = dir
	tp.ports[postgresContainerPort] = freePortString(t)
	tp.ports[containerPort(t, cf.Services["temporal"], "7233")] = freePortString(t)
	for _, v := range temporalPortVars {
		tp.extraPort[v] = freePortString(t)
	}
	return tp
}

func topologyBuildHint(version, binDir string) string {
	return fmt.Sprintf("GOBIN=$(mktemp -d) go install go.temporal.io/server/cmd/server@%[1]s go.temporal.io/server/cmd/tools/sql@%[1]s, then move server to %[2]s/temporal-server-%[1]s and sql to %[2]s/temporal-sql-tool-%[1]s", version, binDir)
}

// goBinDir is where `go install` puts binaries: GOBIN, else GOPATH's first
// bin folder.
func goBinDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	ls := strings.Split(string(out), "\n")
	if strings.TrimSpace(ls[0]) != "" {
		return strings.TrimSpace(ls[0])
	}
	return filepath.Join(filepath.SplitList(strings.TrimSpace(ls[1]))[0], "bin")
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode().Perm()&0o111 != 0
}

// containerPort checks that the service publishes port (as
// "[ip:]hostport:port") and returns it.
func containerPort(t *testing.T, s composeService, port string) string {
	t.Helper()
	for _, p := range s.Ports {
		if strings.HasSuffix(p, ":"+port) {
			return port
		}
	}
	t.Fatalf("docker-compose.yml: the service publishes %v, not the container port %s", s.Ports, port)
	return ""
}

// freePortString is a free port below 32768: the server keeps its
// membership ports in a smallint column.
func freePortString(t *testing.T) string {
	t.Helper()
	for range 200 {
		port := 20000 + mrand.IntN(12000)
		if l, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(port))); err == nil {
			l.Close()
			return strconv.Itoa(port)
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

func (tp *topology) frontend() string { return "127.0.0.1:" + tp.ports["7233"] }

func (tp *topology) namespace() string {
	if ns := tp.compose.Services["temporal-create-namespace"].Environment["DEFAULT_NAMESPACE"]; ns != "" {
		return ns
	}
	return "default"
}

func (tp *topology) log(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("topology: "+format, args...)
}

// local maps a variable of a service's environment from the compose
// network to this machine: in a host variable (*_HOST, *_SEEDS,
// *_ADDRESS) a service's name becomes 127.0.0.1 and "service:port" the
// test's address of that port; in a port variable (*_PORT) a container
// port becomes the test's; a path inside a bind mount becomes the
// repository's file. Anything else (a user named like a service) stays.
func (tp *topology) local(s composeService, key, v string) string {
	switch {
	case strings.HasSuffix(key, "_HOST") || strings.HasSuffix(key, "_SEEDS") || strings.HasSuffix(key, "_ADDRESS"):
		if host, port, err := net.SplitHostPort(v); err == nil {
			if _, ok := tp.compose.Services[host]; ok {
				if p, ok := tp.ports[port]; ok {
					return net.JoinHostPort("127.0.0.1", p)
				}
			}
		}
		if _, ok := tp.compose.Services[v]; ok {
			return "127.0.0.1"
		}
	case strings.HasSuffix(key, "_PORT"):
		if p, ok := tp.ports[v]; ok {
			return p
		}
	case strings.HasPrefix(v, "/"):
		if p, ok := s.hostPath(v); ok {
			return p
		}
	}
	return v
}

// env is the environment of a service's process: PATH and HOME, then the
// service's environment from the compose file, mapped by local.
func (tp *topology) env(name string, extra ...string) []string {
	s := tp.compose.Services[name]
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + homeDir}
	for k, v := range s.Environment {
		env = append(env, k+"="+tp.local(s, k, v))
	}
	return append(env, extra...)
}

// runuser is util-linux's runuser: on PATH, or in the sbin folder it lives
// in, which a root's PATH may lack (env -i, a minimal CI shell).
func runuser() string {
	if p, err := exec.LookPath("runuser"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/runuser", "/sbin/runuser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "runuser"
}

// asPostgres runs a PostgreSQL program as the postgres user when the test
// runs as root (initdb refuses root), else as the test's user.
func (tp *topology) asPostgres(ctx context.Context, prog string, args ...string) *exec.Cmd {
	bin := filepath.Join(tp.pgBin, prog)
	if tp.pgUser != nil {
		return exec.CommandContext(ctx, runuser(), append([]string{"-u", tp.pgUser.Username, "--", bin}, args...)...)
	}
	return exec.CommandContext(ctx, bin, args...)
}

// startPostgres runs the postgresql service: initdb with the compose
// file's user and password (password authentication over TCP, as the
// postgres image sets it up), then the server on the test's port, on
// loopback only. The test's cleanup stops it.
func (tp *topology) startPostgres(ctx context.Context, t *testing.T) {
	t.Helper()
	env := tp.compose.Services["postgresql"].Environment
	pgDir := filepath.Join(tp.dir, "pg")
	if err := os.Mkdir(pgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(pgDir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(env["POSTGRES_PASSWORD"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL must run as the postgres user: %v", err)
		}
		tp.pgUser = u
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{tp.dir, pgDir, pwFile} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		if err := exec.CommandContext(ctx, runuser(), "-u", u.Username, "--", "test", "-w", pgDir).Run(); err != nil {
			t.Fatalf("the postgres user cannot write to %s (is a folder above it closed to others? set TMPDIR to one it can reach): %v", pgDir, err)
		}
	}
	if out, err := tp.asPostgres(ctx, "initdb", "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), " "+tp.pgMajor+".") {
		t.Fatalf("initdb --version: %v %s; want PostgreSQL %s, the compose file's", err, out, tp.pgMajor)
	}
	data := filepath.Join(pgDir, "data")
	initdb := tp.asPostgres(ctx, "initdb", "-D", data, "-U", env["POSTGRES_USER"], "--pwfile", pwFile,
		"--auth-local", "trust", "--auth-host", "scram-sha-256", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	logFile := filepath.Join(pgDir, "postgres.log")
	start := tp.asPostgres(ctx, "pg_ctl", "start", "-D", data, "-l", logFile, "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1", tp.ports[postgresContainerPort], pgDir))
	if out, err := start.CombinedOutput(); err != nil {
		logs, _ := os.ReadFile(logFile)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := tp.asPostgres(ctx, "pg_ctl", "stop", "-D", data, "-m", "immediate", "-w").CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	tp.log(t, "PostgreSQL %s on 127.0.0.1:%s", tp.pgMajor, tp.ports[postgresContainerPort])
}

// runEntrypoint runs a one-shot service's entrypoint (its script from the
// mounted deploy/scripts) with the service's environment, the admin-tools
// binaries it calls on PATH under the image's names. With server set, it
// gives up when the server exits.
func (tp *topology) runEntrypoint(ctx context.Context, t *testing.T, name string, server *proc) {
	t.Helper()
	s := tp.compose.Services[name]
	if len(s.Entrypoint) == 0 {
		t.Fatalf("docker-compose.yml: %s has no entrypoint", name)
	}
	argv := make([]string, len(s.Entrypoint))
	for i, a := range s.Entrypoint {
		argv[i] = tp.local(s, "", a)
	}
	tools := filepath.Join(tp.dir, "admin-tools-bin")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"temporal-sql-tool": tp.sqlBin, "temporal": tp.cliBin} {
		if _, err := os.Lstat(filepath.Join(tools, link)); err == nil {
			continue
		}
		if err := os.Symlink(target, filepath.Join(tools, link)); err != nil {
			t.Fatal(err)
		}
	}
	env := tp.env(name, "SCHEMA_DIR="+tp.schemaDir(t))
	env[0] = "PATH=" + tools + string(os.PathListSeparator) + os.Getenv("PATH")

	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if server != nil {
		go func() {
			select {
			case <-server.done:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = tp.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("%s (%s): %v\n%s", name, strings.Join(argv, " "), err, out)
		if server != nil {
			msg += "\n" + tp.serverTail(server)
		}
		t.Fatal(msg)
	}
	tp.log(t, "%s: %s", name, lastLine(string(out)))
}

// schemaDir is the admin-tools image's /etc/temporal/schema/postgresql/v12:
// the schema of the server module at the pinned version.
func (tp *topology) schemaDir(t *testing.T) string {
	t.Helper()
	dir := tp.moduleDir(t)
	p := filepath.Join(dir, "schema", "postgresql", "v12")
	if _, err := os.Stat(filepath.Join(p, "temporal", "versioned")); err != nil {
		t.Fatalf("the server module has no PostgreSQL schema: %v", err)
	}
	return p
}

// moduleDir is the server module's folder in the module cache (where
// building the binaries put it).
func (tp *topology) moduleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "go.temporal.io/server@"+tp.version).Output()
	if err != nil {
		t.Fatalf("go mod download go.temporal.io/server@%s: %v", tp.version, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download -json: %v %s", err, out)
	}
	return m.Dir
}

// serverEnv is the temporal service's environment: the compose file's, plus
// what the image's entrypoint adds (with BIND_ON_IP 0.0.0.0 it sets
// TEMPORAL_BROADCAST_ADDRESS to the container's address: here, loopback),
// plus the test's free ports for the server's own listeners.
func (tp *topology) serverEnv() []string {
	env := tp.env("temporal", "TEMPORAL_BROADCAST_ADDRESS=127.0.0.1", "FRONTEND_GRPC_PORT="+tp.ports["7233"])
	for k, v := range tp.extraPort {
		env = append(env, k+"="+v)
	}
	return env
}

// renderDockerize renders the image's config template as its entrypoint
// does (`dockerize -template config_template.yaml:docker.yaml`): Go
// templates over .Env, where `default X Y` is Y only when the variable X is
// unset.
func renderDockerize(tmpl string, environ []string) (string, error) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	funcs := template.FuncMap{
		"default": func(args ...any) (string, error) {
			if len(args) < 2 {
				return "", fmt.Errorf("default wants 2 arguments")
			}
			if s, ok := args[0].(string); ok {
				return s, nil
			}
			s, _ := args[1].(string)
			return s, nil
		},
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
		"split": strings.Split,
		"trim":  strings.TrimSpace,
	}
	tpl, err := template.New("config_template.yaml").Funcs(funcs).Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, struct{ Env map[string]string }{env}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// serverRoot writes the image's /etc/temporal: config/docker.yaml rendered
// from the config template at the pinned version with env.
func (tp *topology) serverRoot(t *testing.T, name string, env []string) string {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join(tp.moduleDir(t), "docker", "config_template.yaml"))
	if err != nil {
		t.Fatalf("the server module's docker/config_template.yaml: %v", err)
	}
	rendered, err := renderDockerize(string(tmpl), env)
	if err != nil {
		t.Fatalf("render the config template: %v", err)
	}
	root := filepath.Join(tp.dir, name)
	if err := os.MkdirAll(filepath.Join(root, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "config", "docker.yaml"), []byte(rendered), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// renderConfig is the configuration the server loads from root's
// config/docker.yaml with env (temporal-server render-config).
func (tp *topology) renderConfig(ctx context.Context, t *testing.T, root string, env []string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, tp.serverBin, "--env", "docker", "render-config")
	cmd.Dir, cmd.Env = root, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // "Loading config ..." lines
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("temporal-server render-config in %s: %v\n%s%s", root, err, out, stderr.String())
	}
	return string(out)
}

// checkRenderedConfig checks the compose file's environment against both
// ways a server image renders its configuration: the dockerize template
// that the test starts the server with, and the server's own templated
// config/docker.yaml (newer images start the server on it directly). Both
// must give the same configuration, with the compose file's dynamic config
// file, which must exist.
func (tp *topology) checkRenderedConfig(ctx context.Context, t *testing.T) {
	t.Helper()
	env := tp.serverEnv()
	dockerize := tp.renderConfig(ctx, t, tp.serverRoot(t, "render-dockerize", env), env)

	own := filepath.Join(tp.dir, "render-own")
	if err := os.MkdirAll(filepath.Join(own, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(tp.moduleDir(t), "config", "docker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(own, "config", "docker.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	ownCfg := tp.renderConfig(ctx, t, own, env)
	if d := lineDiff(dockerize, ownCfg); d != "" {
		t.Errorf("the compose file's environment gives two configurations (- the dockerize template's, + the server's config/docker.yaml's):\n%s", d)
	}
	s := tp.compose.Services["temporal"]
	dc := s.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	p, ok := s.hostPath(dc)
	if !ok {
		t.Fatalf("docker-compose.yml: DYNAMIC_CONFIG_FILE_PATH %q is in none of temporal's volumes %v", dc, s.Volumes)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("docker-compose.yml: the dynamic config %s: %v", dc, err)
	}
	if !strings.Contains(dockerize, p) {
		t.Errorf("the rendered configuration does not read the dynamic config %s:\n%s", p, dockerize)
	}
}

// lineDiff lists the lines that differ between a and b, line by line, or ""
// when they are the same.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// startServer starts the temporal service as the image does, and returns
// it once its frontend accepts connections. The test's cleanup stops it.
func (tp *topology) startServer(t *testing.T) *proc {
	t.Helper()
	env := tp.serverEnv()
	root := tp.serverRoot(t, "etc-temporal", env)
	p := &proc{name: "temporal-server", done: make(chan struct{})}
	p.cmd = exec.Command(tp.serverBin, "--env", "docker", "start")
	p.cmd.Dir, p.cmd.Env = root, env
	p.cmd.Stdout, p.cmd.Stderr = &lockedWriter{w: &p.stdout}, &lockedWriter{w: &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start temporal-server: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.signalAndWait(30 * time.Second)
		}
	})
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if conn, err := net.DialTimeout("tcp", tp.frontend(), time.Second); err == nil {
			conn.Close()
			tp.log(t, "Temporal %s frontend on %s", tp.version, tp.frontend())
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("temporal-server exited before its frontend listened\n%s", tp.serverTail(p))
		case <-deadline.C:
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Fatalf("temporal-server's frontend did not listen within 2 minutes\n%s", tp.serverTail(p))
		case <-tick.C:
		}
	}
}

// serverTail is the end of the server's log, for failure messages. Safe
// while it runs.
func (tp *topology) serverTail(p *proc) string {
	var b bytes.Buffer
	for _, w := range []io.Writer{p.cmd.Stdout, p.cmd.Stderr} {
		if lw, ok := w.(*lockedWriter); ok {
			b.WriteString(lw.String())
		}
	}
	ls := lines(b.String())
	if len(ls) > 40 {
		ls = ls[len(ls)-40:]
	}
	return "--- temporal-server (last lines):\n" + strings.Join(ls, "\n")
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return last
}

// lockedWriter is a buffer that may be read while a process writes to it.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
