package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/llmconc/llmconc/codec"
	"github.com/llmconc/llmconc/devserver"
	"github.com/llmconc/llmconc/internal/headless"
	"github.com/llmconc/llmconc/simulator"
	"github.com/llmconc/llmconc/temporalenv"
	"github.com/llmconc/llmconc/workflows"
)

var updateDocs = flag.Bool("update-docs", false, "write the Temporal UI screenshot to ../docs/temporal-ui.png")

// TestTemporalUIShowsTheRun renders a finished run's page from the dev
// server's Web UI in headless Chromium: its summary, its configuration
// (static details) and its headline (current details, which the UI asks the
// worker for) are on the page, and the run is found by its search
// attributes, verdict included.
func TestTemporalUIShowsTheRun(t *testing.T) {
	bin := headless.Chromium(t)
	if devUIURL == "" {
		t.Fatal("the e2e dev server runs without its UI")
	}
	simulatedEndpoint(t, simulator.Config{Latency: 200 * time.Millisecond, Seed: 1})
	id := "e2e-ui-" + randHex(4)
	_, raw := runToJSON(t, "-requests", "4", "-max-tokens", "8", "-id", id)
	_, doc := decodeDoc(t, raw)
	if doc.Conclusion.Verdict != "concurrent" {
		t.Fatalf("the run's verdict is %q, want concurrent", doc.Conclusion.Verdict)
	}

	page := devUIURL + "/namespaces/default/workflows/" + id + "/" + doc.RunID
	dom, markdown := userMetadata(t, bin, page)
	shown := dom + markdown
	for _, want := range []string{
		"gpt-4.1-nano on endpoint default: 4 requests, passes both, concurrency 4",
		"| Requests | 4 |",
		"| Concurrency | 4 |",
		"**Verdict: concurrent, speedup ",
		"- sequential: 4 successful, 0 failed",
		"sequential #1", "concurrent #4",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the run's page in the Temporal UI does not show %q", want)
		}
	}

	shot := filepath.Join(t.TempDir(), "ui.png")
	if *updateDocs {
		var err error
		if shot, err = filepath.Abs(filepath.Join("..", "docs", "temporal-ui.png")); err != nil {
			t.Fatal(err)
		}
	}
	headless.Run(t, bin, "--virtual-time-budget=20000", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--window-size=1280,900", "--screenshot="+shot, page+"/user-metadata")
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(b)); err != nil || http.DetectContentType(b) != "image/png" || img.Bounds().Dx() != 1280 {
		t.Errorf("the screenshot is not a 1280-pixel-wide PNG: %v", err)
	}

	// The search attributes find the run, with the verdict the workflow set.
	query := fmt.Sprintf("WorkflowId = '%s' AND %s = 'gpt-4.1-nano' AND %s = 4 AND %s = 'both' AND %s = 'concurrent'", id,
		workflows.ModelAttribute.GetName(), workflows.RequestsAttribute.GetName(), workflows.PassesAttribute.GetName(), workflows.VerdictAttribute.GetName())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Visibility is eventually consistent: poll until the run is indexed.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query})
		if err == nil && len(resp.GetExecutions()) == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no run matches %s (last error %v)", query, err)
		case <-tick.C:
		}
	}
}

// userMetadata renders the User Metadata tab of a run's page (the run's
// address in the UI) in headless Chromium, and returns its DOM and the
// Markdown it renders: the UI renders Markdown in frames whose address
// carries the text.
func userMetadata(t *testing.T, bin, page string) (dom, markdown string) {
	t.Helper()
	dom = string(headless.Run(t, bin, "--virtual-time-budget=20000", "--dump-dom", page+"/user-metadata"))
	var b strings.Builder
	for _, src := range attrValues(dom, "iframe", "src") {
		if u, err := url.Parse(src); err == nil {
			b.WriteString(u.Query().Get("content") + "\n")
		}
	}
	return dom, b.String()
}

// attrValues returns the values of attribute attr of every element tag in
// html, unescaped.
func attrValues(html, tag, attr string) []string {
	var out []string
	for _, part := range strings.Split(html, "<"+tag+" ")[1:] {
		end := strings.Index(part, ">")
		if end < 0 {
			continue
		}
		head := part[:end]
		i := strings.Index(head, attr+`="`)
		if i < 0 {
			continue
		}
		v := head[i+len(attr)+2:]
		if j := strings.Index(v, `"`); j >= 0 {
			out = append(out, strings.NewReplacer("&amp;", "&", "&quot;", `"`, "&lt;", "<", "&gt;", ">").Replace(v[:j]))
		}
	}
	return out
}

// TestTemporalUIDecryptsThroughTheCodecServer: with payload encryption on,
// the run's summary and details are ciphertext in Temporal, and the Web UI of
// a server started with --ui-codec-endpoint still shows them in clear, having
// had the browser ask the codec server to decrypt them.
func TestTemporalUIDecryptsThroughTheCodecServer(t *testing.T) {
	bin := headless.Chromium(t)
	keyEnv := codec.EnvKey + "=" + newCodecKey(t)
	uiPort := freePort(t)
	codecURL := startCodecServerWith(t, []string{"-origins", fmt.Sprintf("http://127.0.0.1:%d", uiPort)}, keyEnv)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{UIPort: uiPort, UICodecEndpoint: codecURL})
	if err != nil {
		t.Fatalf("start a dev server with the codec endpoint: %v", err)
	}
	t.Cleanup(srv.Stop)

	apiKey := "e2e-key-" + randHex(8)
	sim := simulator.New(simulator.Config{Latency: 50 * time.Millisecond, APIKey: apiKey, Seed: 2})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	startProc(t, "worker", workerBin, envAt(srv.Address, "OPENAI_API_KEY="+apiKey, "OPENAI_BASE_URL="+base, keyEnv))
	id := "e2e-ui-codec-" + randHex(4)
	out := filepath.Join(t.TempDir(), "result.json")
	p := startProc(t, "starter", starterBin, envAt(srv.Address, keyEnv), "-requests", "3", "-max-tokens", "8", "-id", id, "-out", out, "-quiet")
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("starter exited %d\n%s", code, p.output())
	}
	_, doc := readDoc(t, out)

	// In Temporal, the summary is ciphertext.
	plain, err := client.DialContext(ctx, client.Options{HostPort: srv.Address, Logger: temporalenv.QuietLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	desc, err := plain.DescribeWorkflow(ctx, id, doc.RunID)
	if err != nil {
		t.Fatal(err)
	}
	summary := desc.RawResponse.GetExecutionConfig().GetUserMetadata().GetSummary()
	if enc := string(summary.GetMetadata()["encoding"]); enc != "binary/encrypted" || strings.Contains(string(summary.GetData()), "gpt-4.1-nano") {
		t.Fatalf("the run's summary is stored as %q, want ciphertext (binary/encrypted)", enc)
	}

	// In the UI, it is text again.
	_, markdown := userMetadata(t, bin, srv.UIURL+"/namespaces/default/workflows/"+id+"/"+doc.RunID)
	for _, want := range []string{"gpt-4.1-nano on endpoint default: 3 requests, passes both, concurrency 3", "| Requests | 3 |", "**Verdict: "} {
		if !strings.Contains(markdown, want) {
			t.Errorf("the UI with the codec server does not show %q; it rendered:\n%s", want, markdown)
		}
	}
}

// freePort returns a TCP port that was free a moment ago on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
