package htmlreport_test

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmconc/llmconc/htmlreport"
	"github.com/llmconc/llmconc/internal/headless"
	"github.com/llmconc/llmconc/report"
)

// The browser checks render a report in headless Chromium: the Debian
// package "chromium", found as "chromium" on PATH. Without it they skip,
// unless the environment variable CI is set, where they fail.

var updateDocs = flag.Bool("update-docs", false, "render ../docs/html-report.png from testdata/simulator_run.json with chromium")

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// browserDocument is the mixed run (failures, streamed requests, requests
// never sent) whose prompts try to inject markup.
func browserDocument() report.Document {
	d := mixed()
	for i := range d.Sequential.Requests {
		d.Sequential.Requests[i].Prompt = `</title></svg><script>document.body.innerHTML=""</script><rect class="req">`
	}
	d.Conclusion.Text = `<script>document.body.innerHTML=""</script>` + d.Conclusion.Text
	return d
}

func writeReport(t *testing.T, d report.Document, opts htmlreport.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, htmlreport.WriteFile(path, d, opts))
	return path
}

// The DOM that Chromium builds from the page has the charts and one bar per
// request sent, and no script: the escaped prompts stayed text.
func TestBrowserDOM(t *testing.T) {
	bin := headless.Chromium(t)
	path := writeReport(t, browserDocument(), htmlreport.Options{Sweep: sweep()})
	dom := string(headless.Run(t, bin, "--dump-dom", fileURL(path)))
	require.Contains(t, dom, "</html>", "a whole DOM")

	es := elements(dom)
	assert.Len(t, find(es, "svg", "waterfall"), 2)
	assert.Len(t, find(es, "svg", "histogram"), 2)
	assert.Len(t, find(es, "svg", "sweep"), 2)
	assert.Len(t, find(es, "rect", "req", "data-pass", string(seqP)), 8)
	assert.Len(t, find(es, "rect", "req", "data-pass", string(concP)), 10)
	assert.Len(t, find(es, "rect", "failed"), 3)
	assert.Len(t, find(es, "line", "ttft"), 3)
	assert.Empty(t, find(es, "script", ""))
	assert.Equal(t, strings.Count(dom, "<svg"), strings.Count(dom, "</svg>"))
	// The bars are still inside their charts: the prompts closed nothing.
	for _, pass := range []string{string(seqP), string(concP)} {
		i := strings.Index(dom, `<svg class="chart waterfall" data-pass="`+pass+`"`)
		require.GreaterOrEqual(t, i, 0, pass)
		j := i + strings.Index(dom[i:], "</svg>")
		assert.Equal(t, len(find(es, "rect", "req", "data-pass", pass)), strings.Count(dom[i:j], `<rect class="req`), pass)
	}
}

// The screenshot is a 1280×1600 PNG with the charts painted: many colors,
// among them those of the successful and failed bars.
func TestBrowserScreenshot(t *testing.T) {
	bin := headless.Chromium(t)
	path := writeReport(t, browserDocument(), htmlreport.Options{})
	shot := filepath.Join(t.TempDir(), "report.png")
	headless.Run(t, bin, "--hide-scrollbars", "--force-device-scale-factor=1",
		"--screenshot="+shot, "--window-size=1280,1600", fileURL(path))

	b, err := os.ReadFile(shot)
	require.NoError(t, err)
	require.Equal(t, "image/png", http.DetectContentType(b))
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 1280, 1600), img.Bounds())

	colors := map[color.RGBA]int{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			colors[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	assert.Greater(t, len(colors), 50, "not blank: text, bars and axes make many colors")
	near := func(want color.RGBA) int {
		n := 0
		for c, k := range colors {
			if diff(c.R, want.R) <= 8 && diff(c.G, want.G) <= 8 && diff(c.B, want.B) <= 8 {
				n += k
			}
		}
		return n
	}
	ok, fail, white := near(color.RGBA{0x2f, 0x6b, 0xd8, 0xff}), near(color.RGBA{0xd9, 0x41, 0x2b, 0xff}), near(color.RGBA{0xff, 0xff, 0xff, 0xff})
	t.Logf("%d colors; pixels: %d of successful bars, %d of failed ones, %d white", len(colors), ok, fail, white)
	assert.Greater(t, ok, 5000, "pixels of successful bars (--ok)")
	assert.Greater(t, fail, 800, "pixels of failed bars (--fail), beyond the legend's swatch")
	assert.Greater(t, white, 100000, "the white cards")
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestDocsScreenshot regenerates docs/html-report.png, the picture in
// docs/html-report.md, from the real simulator run in testdata:
//
//	go test ./htmlreport/ -run TestDocsScreenshot -update-docs
func TestDocsScreenshot(t *testing.T) {
	if !*updateDocs {
		t.Skip("run with -update-docs to regenerate docs/html-report.png")
	}
	bin := headless.Chromium(t)
	path := writeReport(t, loadDocument(t, "testdata/simulator_run.json"), htmlreport.Options{})
	out, err := filepath.Abs(filepath.Join("..", "docs", "html-report.png"))
	require.NoError(t, err)
	headless.Run(t, bin, "--hide-scrollbars", "--force-device-scale-factor=1",
		"--screenshot="+out, "--window-size=1280,"+docsShotHeight, fileURL(path))
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(300_000), "keep the committed PNG small")
	t.Logf("wrote %s (%d bytes)", out, info.Size())
}

// docsShotHeight shows the summary, both timelines and the histograms.
const docsShotHeight = "1560"

// TestDocsVerdictScreenshot regenerates docs/verdict-report.png, the
// generation-interval charts in docs/verdict.md, from a real run against
// the simulator capped at 3 requests at once (testdata/verdict_run.json):
//
//	go test ./htmlreport/ -run TestDocsVerdictScreenshot -update-docs
//
// Only the interval section is shown.
func TestDocsVerdictScreenshot(t *testing.T) {
	if !*updateDocs {
		t.Skip("run with -update-docs to regenerate docs/verdict-report.png")
	}
	bin := headless.Chromium(t)
	var b bytes.Buffer
	require.NoError(t, htmlreport.Render(&b, loadDocument(t, "testdata/verdict_run.json"), htmlreport.Options{}))
	page := strings.Replace(b.String(), "</style>", "section.card:not(.intervals),footer{display:none}</style>", 1)
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(path, []byte(page), 0o644))
	out, err := filepath.Abs(filepath.Join("..", "docs", "verdict-report.png"))
	require.NoError(t, err)
	headless.Run(t, bin, "--hide-scrollbars", "--force-device-scale-factor=1",
		"--screenshot="+out, "--window-size=1280,960", fileURL(path))
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(300_000), "keep the committed PNG small")
	t.Logf("wrote %s (%d bytes)", out, info.Size())
}
