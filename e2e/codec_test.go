package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/simulator"
)

// TestEncryptedRun runs a whole run with LLMCONC_CODEC_KEY set for the worker
// and the starter, then checks that:
//   - the run completes and its JSON is right (prompts, responses, model);
//   - its history, read with a plain client, holds only encrypted payloads,
//     and no prompt, response or model name anywhere in its events;
//   - the same history decrypts with the codec, and through the codec server
//     binary over HTTP (POST /decode, as the UI does);
//   - the temporal CLI shows the payloads through the codec server;
//   - `starter result` with the key rebuilds the same JSON; without the key,
//     or with another key, `starter result`, `-attach` and `rerun` exit 2
//     with one line that says the payloads are encrypted and what to set,
//     and `starter list` shows the run as "encrypted" and says the same.
func TestEncryptedRun(t *testing.T) {
	key := newCodecKey(t)
	keyEnv := codec.EnvKey + "=" + key
	model := "e2e-secret-model-" + randHex(6)
	const n = 3
	var promptList []string
	for i := range n {
		promptList = append(promptList, fmt.Sprintf("Confidential prompt %d about project %s", i, randHex(8)))
	}
	promptsFile := filepath.Join(t.TempDir(), "prompts.txt")
	if err := os.WriteFile(promptsFile, []byte(strings.Join(promptList, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	apiKey := "e2e-key-" + randHex(8)
	sim := simulator.New(simulator.Config{Latency: 50 * time.Millisecond, APIKey: apiKey, Seed: 5, Models: []string{model}})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	worker := startProc(t, "worker", workerBin, binEnv("OPENAI_API_KEY="+apiKey, "OPENAI_BASE_URL="+base, keyEnv))

	id := "e2e-codec-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, binEnv(keyEnv),
		"-requests", itoa(n), "-max-tokens", "16", "-model", model, "-prompts", promptsFile, "-id", id, "-out", out, "-html", "none", "-timeout", "2m")
	if code := starter.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
	}
	resultJSON, doc := readDoc(t, out)
	checkCompleted(t, doc, id, n)
	if doc.Config.Model != model {
		t.Errorf("config.model = %q, want %q", doc.Config.Model, model)
	}
	var responses []string
	for _, r := range doc.Sequential.Requests {
		if r.Prompt != promptList[r.Index] {
			t.Errorf("request %d: prompt %q, want %q", r.Index, r.Prompt, promptList[r.Index])
		}
		responses = append(responses, r.Response)
	}
	for _, r := range doc.Concurrent.Requests {
		responses = append(responses, r.Response)
	}
	secrets := append(append([]string{model}, promptList...), responses...)

	// The raw history, read with the tests' plain client.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var all []*commonpb.Payload
	var events int
	it := tc.GetWorkflowHistory(ctx, id, doc.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("read the history: %v", err)
		}
		events++
		where := ev.GetEventType().String() + " event " + itoa(ev.GetEventId())
		raw, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := protojson.Marshal(ev)
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) || bytes.Contains(js, []byte(s)) {
				t.Errorf("%s holds %q in clear", where, s)
			}
		}
		// The SDK's own TemporalChangeVersion search attribute, set by
		// workflow.GetVersion, names a change of the workflow's code
		// ("warmup-and-pass-order-1"), never data; Temporal keeps it in
		// clear for visibility.
		if sa := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields(); len(sa) == 1 && sa["TemporalChangeVersion"] != nil {
			continue
		}
		walkPayloads(ev.ProtoReflect(), func(p *commonpb.Payload) {
			if !codec.IsEncrypted(p) {
				t.Errorf("%s: a payload with encoding %q is not encrypted: %s", where, p.GetMetadata()[converter.MetadataEncoding], p.GetData())
			}
			all = append(all, p)
		})
	}
	if len(all) < 2*n {
		t.Fatalf("only %d payloads in %d events", len(all), events)
	}
	t.Logf("history: %d events, %d payloads, all encrypted", events, len(all))
	// The default converter cannot read them.
	var v any
	if err := converter.GetDefaultDataConverter().FromPayload(all[0], &v); err == nil {
		t.Error("the default converter decoded an encrypted payload")
	}

	// The same payloads, decrypted with the key.
	c, err := codec.FromEnv(func(k string) string {
		if k == codec.EnvKey {
			return key
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := c.Decode(all)
	if err != nil {
		t.Fatalf("decrypt the history's payloads: %v", err)
	}
	checkSecretsIn(t, "the payloads decrypted with the codec", decoded, secrets)

	// And through the codec server binary, over HTTP, as the Temporal UI
	// asks it: POST /decode from the UI's origin, with the bearer token.
	token := randHex(16)
	url := startCodecServer(t, keyEnv, codec.EnvServerToken+"="+token)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: all})
	if err != nil {
		t.Fatal(err)
	}
	decodeHTTP := func(auth string) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/default/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://localhost:8233")
		req.Header.Set("X-Namespace", "default")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /decode: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := decodeHTTP(""); code != http.StatusUnauthorized || bytes.Contains(b, []byte(promptList[0])) {
		t.Errorf("POST /decode without the token: status %d, want 401 and nothing decoded", code)
	}
	code, b := decodeHTTP("Bearer " + token)
	if code != http.StatusOK {
		t.Fatalf("POST /decode: status %d: %s", code, b)
	}
	var viaServer commonpb.Payloads
	if err := protojson.Unmarshal(b, &viaServer); err != nil {
		t.Fatalf("the codec server's answer is not Payloads JSON: %v", err)
	}
	if len(viaServer.GetPayloads()) != len(all) {
		t.Errorf("the codec server decoded %d payloads of %d", len(viaServer.GetPayloads()), len(all))
	}
	checkSecretsIn(t, "the payloads decoded by the codec server", viaServer.GetPayloads(), secrets)

	// The temporal CLI through the codec server shows the prompts; without
	// it, it does not.
	if cli, ok := devserver.FindCLI(); ok {
		show := func(extra ...string) string {
			args := append([]string{"workflow", "show", "--address", devAddr, "--namespace", "default", "-w", id, "-o", "json"}, extra...)
			cmd := exec.CommandContext(ctx, cli, args...)
			cmd.Env = binEnv()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("temporal workflow show: %v\n%s", err, out)
			}
			return string(out)
		}
		// Its JSON output gives each payload's data in base64.
		if data := payloadData(t, show()); bytes.Contains(data, []byte(promptList[0])) || bytes.Contains(data, []byte(model)) {
			t.Error("temporal workflow show without the codec server shows a prompt or the model")
		}
		if data := payloadData(t, show("--codec-endpoint", url+"/{namespace}", "--codec-auth", "Bearer "+token)); !bytes.Contains(data, []byte(promptList[0])) || !bytes.Contains(data, []byte(model)) {
			t.Errorf("temporal workflow show --codec-endpoint does not show the prompt and the model:\n%.2000s", data)
		}
	} else {
		t.Error("no temporal CLI to check --codec-endpoint with (TestMain's dev server needs one)")
	}

	// `starter result` with the key reads the history back into the same
	// records (the per-request records come from the encrypted activity
	// results).
	again := filepath.Join(t.TempDir(), "again.json")
	p := startProc(t, "starter result", starterBin, binEnv(keyEnv), "result", "-out", again, "-html", "none", id)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("starter result with the key exited %d\n%s", code, p.output())
	}
	_, redoc := readDoc(t, again)
	checkCompleted(t, redoc, id, n)
	if redoc.Sequential.Requests[0].Prompt != doc.Sequential.Requests[0].Prompt || redoc.Sequential.Requests[0].Response != doc.Sequential.Requests[0].Response {
		t.Errorf("starter result rebuilt request 0 as %+v, want %+v", redoc.Sequential.Requests[0], doc.Sequential.Requests[0])
	}

	// Without the key, or with another one: one clear line, non-zero exit,
	// no file.
	noFile := filepath.Join(t.TempDir(), "never.json")
	for _, cs := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"result, no key", nil, []string{"result", "-out", noFile, id}, []string{"encrypted", codec.EnvKey}},
		{"result, another key", []string{codec.EnvKey + "=" + newCodecKey(t)}, []string{"result", "-out", noFile, id}, []string{"key ID", codec.EnvKey, codec.EnvOldKeys}},
		{"-attach, no key", nil, []string{"-attach", id, "-out", noFile}, []string{"encrypted", codec.EnvKey}},
		{"rerun, no key", nil, []string{"rerun", "-out", noFile, id}, []string{"encrypted", codec.EnvKey}},
	} {
		p := startProc(t, "starter "+cs.name, starterBin, binEnv(cs.env...), cs.args...)
		code := p.wait(t, time.Minute)
		checkOneLine(t, "starter "+cs.name, p, code, id, cs.want)
		if _, err := os.Stat(noFile); err == nil {
			t.Errorf("starter %s wrote %s", cs.name, noFile)
		}
	}
	// list lists every run, this one as "encrypted", says what to set in one
	// line, and succeeds: the other runs' verdicts are right.
	p = startProc(t, "starter list (no key)", starterBin, binEnv(), "list", "-n", "50")
	code = p.wait(t, time.Minute)
	if errLines := lines(p.stderr.String()); code != 0 || len(errLines) != 1 ||
		!strings.Contains(errLines[0], "encrypted") || !strings.Contains(errLines[0], codec.EnvKey) {
		t.Errorf("starter list without the key: exit %d; want 0 and one line on stderr naming %s\n%s", code, codec.EnvKey, p.output())
	}
	found := false
	for _, l := range lines(p.stdout.String()) {
		// WORKFLOW ID, STATUS, ENDPOINT (from the memo: "-" when it cannot be
		// decrypted), VERDICT, …
		if f := strings.Fields(l); len(f) >= 4 && f[0] == id {
			found = true
			if f[3] != "encrypted" {
				t.Errorf("starter list shows %q for the encrypted run, want verdict \"encrypted\"", l)
			}
		}
	}
	if !found {
		t.Errorf("starter list does not list %s:\n%s", id, p.stdout.String())
	}

	if code := worker.stop(t); code != 0 {
		t.Errorf("worker exited %d on SIGINT\n%s", code, worker.output())
	}
	if !bytes.Contains(resultJSON, []byte(promptList[0])) {
		t.Error("the result JSON lacks the prompts (it is the user's own copy, in clear)")
	}
}

// payloadData returns the data of every payload in the JSON output of
// `temporal workflow show -o json`, base64-decoded and concatenated.
func payloadData(t *testing.T, out string) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("temporal workflow show -o json: %v\n%.2000s", err, out)
	}
	var data []byte
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if d, ok := v["data"].(string); ok && v["metadata"] != nil {
				if b, err := base64.StdEncoding.DecodeString(d); err == nil {
					data = append(data, b...)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if len(data) == 0 {
		t.Fatalf("no payloads in the output of temporal workflow show:\n%.2000s", out)
	}
	return data
}

// newCodecKey returns a fresh key as `openssl rand -base64 32` prints it.
func newCodecKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, codec.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// checkSecretsIn checks that every secret is in the data of some payload,
// and that no payload is still encrypted.
func checkSecretsIn(t *testing.T, where string, ps []*commonpb.Payload, secrets []string) {
	t.Helper()
	var all []byte
	for _, p := range ps {
		if codec.IsEncrypted(p) {
			t.Errorf("%s: a payload is still encrypted", where)
		}
		all = append(all, p.GetData()...)
	}
	for _, s := range secrets {
		if !bytes.Contains(all, []byte(s)) {
			t.Errorf("%s: %q not found", where, s)
		}
	}
}

// checkOneLine checks that an exited starter failed with exit code 2 and
// one line on stderr naming the run (if id is set) and each of want, and
// no stack trace.
func checkOneLine(t *testing.T, name string, p *proc, code int, id string, want []string) {
	t.Helper()
	errLines := lines(p.stderr.String())
	if code != 2 || len(errLines) != 1 {
		t.Errorf("%s: exit %d with %d lines on stderr, want exit 2 and one line\n%s", name, code, len(errLines), p.output())
		return
	}
	t.Logf("%s: exit %d: %s", name, code, errLines[0])
	if id != "" {
		want = append(want, id)
	}
	for _, w := range want {
		if !strings.Contains(errLines[0], w) {
			t.Errorf("%s: %q does not say %q", name, errLines[0], w)
		}
	}
	for _, bad := range []string{"goroutine", "panic", ".go:"} {
		if strings.Contains(p.stderr.String(), bad) {
			t.Errorf("%s: stderr has %q\n%s", name, bad, p.output())
		}
	}
}

// startCodecServer builds and starts cmd/codec-server on a free port with
// env, waits for the line naming its address and returns its URL; the
// test's cleanup stops it and checks that it exits cleanly.
func startCodecServer(t *testing.T, env ...string) string {
	t.Helper()
	return startCodecServerWith(t, nil, env...)
}

// startCodecServerWith is startCodecServer with more flags.
func startCodecServerWith(t *testing.T, args []string, env ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "codec-server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/codec-server")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/codec-server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = binEnv(env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the codec server: %v", err)
	}
	listening := make(chan string, 1) // the line that says where
	var log bytes.Buffer              // written only by the reader goroutine until done
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on ") && !sent {
				listening <- sc.Text()
				sent = true
			}
		}
	}()
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the codec server exited with %v on SIGINT\n%s", err, log.String())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the codec server did not exit within 15 s of SIGINT")
		}
	})
	go func() {
		<-done
		exited <- cmd.Wait()
	}()
	select {
	case line := <-listening:
		for _, e := range env {
			if _, secret, _ := strings.Cut(e, "="); strings.Contains(line, secret) {
				t.Errorf("the codec server logged a secret: %s", line)
			}
		}
		_, rest, _ := strings.Cut(line, "listening on ")
		return strings.Fields(rest)[0]
	case <-done:
		t.Fatalf("the codec server exited before listening:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the codec server did not say where it listens within 30 s")
	}
	return ""
}

// TestWorkerWithoutKeyDoesNotFailTheRun starts an encrypted run while the
// only worker lacks the key: the worker fails its workflow task with a line
// naming LLMCONC_CODEC_KEY, the run stays running (the task is retried, the
// run is not failed), and a worker with the key then completes it.
func TestWorkerWithoutKeyDoesNotFailTheRun(t *testing.T) {
	keyEnv := codec.EnvKey + "=" + newCodecKey(t)
	apiKey := "e2e-key-" + randHex(8)
	sim := simulator.New(simulator.Config{Latency: 20 * time.Millisecond, APIKey: apiKey, Seed: 6})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	keyless := startProc(t, "worker without the key", workerBin, binEnv("OPENAI_API_KEY="+apiKey, "OPENAI_BASE_URL="+base))

	id := "e2e-codec-keyless-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter := startProc(t, "starter", starterBin, binEnv(keyEnv),
		"-requests", "2", "-max-tokens", "8", "-id", id, "-out", out, "-html", "none", "-timeout", "2m")

	// Wait for the keyless worker's failed workflow task.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var failure string
	for failure == "" {
		it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break // not started yet
			}
			if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
				failure = a.GetFailure().GetMessage()
			}
			if a := ev.GetWorkflowExecutionFailedEventAttributes(); a != nil {
				t.Fatalf("the keyless worker failed the run: %v", a.GetFailure())
			}
		}
		if failure != "" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no failed workflow task within 90 s\n%s", keyless.output())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !strings.Contains(failure, codec.EnvKey) || !strings.Contains(failure, "encrypted") {
		t.Errorf("the workflow task failed with %q, want it to say the payloads are encrypted and to set %s", failure, codec.EnvKey)
	}
	desc, err := tc.DescribeWorkflow(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.RawResponse.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the run is %v after the keyless worker's failure, want RUNNING", st)
	}
	if sim.Stats().Requests != 0 {
		t.Errorf("the keyless worker sent %d requests", sim.Stats().Requests)
	}
	if code := keyless.stop(t); code != 0 {
		t.Errorf("the keyless worker exited %d\n%s", code, keyless.output())
	}
	if !strings.Contains(keyless.stderr.String(), codec.EnvKey) {
		t.Errorf("the keyless worker's log does not name %s:\n%s", codec.EnvKey, keyless.output())
	}

	// A worker with the key picks the run up and completes it.
	startProc(t, "worker with the key", workerBin, binEnv("OPENAI_API_KEY="+apiKey, "OPENAI_BASE_URL="+base, keyEnv))
	if code := starter.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
	}
	_, doc := readDoc(t, out)
	checkCompleted(t, doc, id, 2)
}
