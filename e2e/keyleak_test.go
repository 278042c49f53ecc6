package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/llmconc/llmconc/simulator"
)

// TestAPIKeyNeverInHistory runs a whole run with a distinctive key and checks
// that the key is nowhere in the workflow's history (raw events, their JSON
// form, and every payload decoded), in the progress query's answer, in the
// result JSON, or in the output of the worker and the starter.
func TestAPIKeyNeverInHistory(t *testing.T) {
	key := "e2e-secret-key-" + randHex(16)
	forms := leakForms(key)

	sim := simulator.New(simulator.Config{Latency: 50 * time.Millisecond, APIKey: key, Seed: 2})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	worker := startWorker(t, key, base)

	const n = 3
	id := "e2e-key-leak-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	starter, code := runStarter(t, 2*time.Minute,
		"-requests", "3", "-max-tokens", "16", "-id", id, "-out", out, "-timeout", "2m", "-request-timeout", "30s")
	if code != 0 {
		t.Fatalf("starter exited %d, want 0\n%s", code, starter.output())
	}
	// The key reached the endpoint: every request was accepted with it.
	if st := sim.Stats(); st.ChatStatusCounts[200] != 2*n+1 || st.ChatRequests != 2*n+1 {
		t.Fatalf("simulator saw %d chat requests, statuses %v; want %d (both passes and the warm-up), all 200 (the worker's key was not used)", st.ChatRequests, st.ChatStatusCounts, 2*n+1)
	}
	resultJSON, doc := readDoc(t, out)
	checkCompleted(t, doc, id, n)
	runID := doc.RunID

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The progress query's answer, while the worker still runs to answer it.
	qv, err := tc.QueryWorkflow(ctx, id, runID, "progress", 0)
	if err != nil {
		t.Fatalf("query progress: %v", err)
	}
	var progress any
	if err := qv.Get(&progress); err != nil {
		t.Fatalf("decode the progress: %v", err)
	}
	progressJSON, _ := json.Marshal(progress)
	if !bytes.Contains(progressJSON, []byte(base)) {
		t.Errorf("progress query answer does not name the endpoint %s: %s", base, progressJSON)
	}
	checkNoKey(t, "the progress query's answer", progressJSON, forms)

	if code := worker.stop(t); code != 0 {
		t.Errorf("worker exited %d on SIGINT, want 0\n%s", code, worker.output())
	}

	desc, err := tc.DescribeWorkflow(ctx, id, runID)
	if err != nil {
		t.Fatalf("describe the run: %v", err)
	}
	if st := desc.RawResponse.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("run status %v, want COMPLETED", st)
	}
	descBytes, _ := proto.Marshal(desc.RawResponse)
	checkNoKey(t, "DescribeWorkflowExecution", descBytes, forms)

	// The whole history, event by event.
	dc := converter.GetDefaultDataConverter()
	var (
		events, payloads                 int
		startedIn, scheduledIn           int
		completedOut, workflowOut        int
		sawSendInput, sawRecords, sawURL bool
		rawHasURL                        bool
	)
	it := tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("read the history: %v", err)
		}
		events++
		where := ev.GetEventType().String() + " event " + itoa(ev.GetEventId())
		raw, err := proto.Marshal(ev)
		if err != nil {
			t.Fatalf("marshal %s: %v", where, err)
		}
		checkNoKey(t, where+" (protobuf)", raw, forms)
		rawHasURL = rawHasURL || bytes.Contains(raw, []byte(base))
		js, err := protojson.Marshal(ev)
		if err != nil {
			t.Fatalf("marshal %s to JSON: %v", where, err)
		}
		checkNoKey(t, where+" (protojson)", js, forms)

		// Every payload anywhere in the event, decoded.
		walkPayloads(ev.ProtoReflect(), func(p *commonpb.Payload) {
			payloads++
			checkNoKey(t, where+" payload data", p.GetData(), forms)
			text := decodePayload(t, dc, where, p)
			checkNoKey(t, where+" decoded payload", text, forms)
		})

		// The payloads that carry the run's data, decoded to check that the
		// walk above saw real content.
		decodeAll := func(ps *commonpb.Payloads) []map[string]any {
			var out []map[string]any
			for _, p := range ps.GetPayloads() {
				var m map[string]any
				if err := dc.FromPayload(p, &m); err != nil {
					t.Errorf("%s: decode payload: %v", where, err)
					continue
				}
				out = append(out, m)
			}
			return out
		}
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			for _, m := range decodeAll(a.GetInput()) {
				startedIn++
				if _, ok := m["prompts"]; !ok {
					t.Errorf("workflow input has no prompts: %v", m)
				}
			}
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			for _, m := range decodeAll(a.GetInput()) {
				scheduledIn++
				if _, ok := m["requests"]; ok {
					sawSendInput = true
				}
			}
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			for _, m := range decodeAll(a.GetResult()) {
				completedOut++
				if _, ok := m["records"]; ok {
					sawRecords = true
				}
				if m["base_url"] == base {
					sawURL = true
				}
			}
		}
		if a := ev.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
			for _, m := range decodeAll(a.GetResult()) {
				workflowOut++
				if _, ok := m["sequential"]; !ok {
					t.Errorf("workflow result has no sequential pass: %v", m)
				}
			}
		}
	}
	t.Logf("history: %d events, %d payloads decoded (workflow input %d, activity inputs %d, activity results %d, workflow result %d)",
		events, payloads, startedIn, scheduledIn, completedOut, workflowOut)
	if startedIn == 0 || scheduledIn == 0 || completedOut == 0 || workflowOut == 0 {
		t.Errorf("decoded too few payloads: workflow input %d, activity inputs %d, activity results %d, workflow result %d; want at least one of each",
			startedIn, scheduledIn, completedOut, workflowOut)
	}
	if !sawSendInput || !sawRecords {
		t.Errorf("no Send activity input (%v) or result with records (%v) in the history", sawSendInput, sawRecords)
	}
	// Positive controls: the endpoint's URL, which does belong in the
	// history, is found by the same means as the key would be.
	if !sawURL || !rawHasURL {
		t.Errorf("the endpoint URL %s was not found in the decoded DescribeEndpoint result (%v) or the raw events (%v)", base, sawURL, rawHasURL)
	}

	// The result file and the programs' output.
	if !bytes.Contains(resultJSON, []byte(base)) {
		t.Errorf("result JSON does not name the endpoint %s", base)
	}
	checkNoKey(t, "the result JSON", resultJSON, forms)
	html, err := os.ReadFile(strings.TrimSuffix(out, ".json") + ".html")
	if err != nil || !bytes.Contains(html, []byte(base)) {
		t.Errorf("the HTML report next to the JSON is missing or does not name the endpoint (%v)", err)
	}
	checkNoKey(t, "the HTML report", html, forms)
	checkNoKey(t, "the worker's stdout", worker.stdout.Bytes(), forms)
	checkNoKey(t, "the worker's stderr", worker.stderr.Bytes(), forms)
	checkNoKey(t, "the starter's stdout", starter.stdout.Bytes(), forms)
	checkNoKey(t, "the starter's stderr", starter.stderr.Bytes(), forms)
	if !strings.Contains(worker.stderr.String(), base) {
		t.Errorf("the worker's log does not name its endpoint %s:\n%s", base, worker.output())
	}
	// Nothing else in the test's temporary folders holds the key (the
	// working directories of the worker and the starter included).
	_ = filepath.WalkDir(filepath.Dir(filepath.Dir(out)), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(path); err == nil {
				checkNoKey(t, path, b, forms)
			}
		}
		return nil
	})
}

// leakForms returns the key as is, and the parts of its base64 encodings
// (standard and URL alphabets, at each of the three byte alignments) that any
// base64 text holding the key must contain.
func leakForms(key string) [][]byte {
	forms := [][]byte{[]byte(key)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := 0; pad < 3; pad++ {
			s := enc.EncodeToString(append(make([]byte, pad), key...))
			// The first quantum depends on the bytes before the key when
			// pad > 0; the last on the bytes after it.
			if pad > 0 {
				s = s[4:]
			}
			s = s[:len(s)-4]
			forms = append(forms, []byte(s))
		}
	}
	return forms
}

func checkNoKey(t *testing.T, where string, b []byte, forms [][]byte) {
	t.Helper()
	for i, f := range forms {
		if bytes.Contains(b, f) {
			how := "verbatim"
			if i > 0 {
				how = "base64-encoded"
			}
			t.Errorf("the API key is in %s (%s)", where, how)
			return
		}
	}
}

// walkPayloads calls visit for every Payload in m, at any depth.
func walkPayloads(m protoreflect.Message, visit func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		visit(p)
		return
	}
	isMsg := func(k protoreflect.Kind) bool { return k == protoreflect.MessageKind || k == protoreflect.GroupKind }
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if isMsg(fd.MapValue().Kind()) {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walkPayloads(mv.Message(), visit)
					return true
				})
			}
		case fd.IsList():
			if isMsg(fd.Kind()) {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					walkPayloads(l.Get(i).Message(), visit)
				}
			}
		case isMsg(fd.Kind()):
			walkPayloads(v.Message(), visit)
		}
		return true
	})
}

// decodePayload decodes a payload with the SDK's default data converter and
// returns it as JSON text.
func decodePayload(t *testing.T, dc converter.DataConverter, where string, p *commonpb.Payload) []byte {
	t.Helper()
	var v any
	if err := dc.FromPayload(p, &v); err != nil {
		t.Errorf("%s: decode a payload (encoding %q): %v", where, p.GetMetadata()["encoding"], err)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Errorf("%s: re-encode a decoded payload: %v", where, err)
	}
	return b
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
