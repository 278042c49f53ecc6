package measure_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llmconc/llmconc/measure"
)

func TestCaptureTransport(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Ratelimit-Remaining-Requests", "41")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer ts.Close()
	client := &http.Client{Transport: measure.CaptureTransport{}}

	var c measure.Capture
	req, err := http.NewRequestWithContext(measure.WithCapture(t.Context(), &c), http.MethodGet, ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c.Status() != http.StatusTeapot {
		t.Errorf("captured status %d, want %d", c.Status(), http.StatusTeapot)
	}
	if got := c.Header().Get("X-Ratelimit-Remaining-Requests"); got != "41" {
		t.Errorf("captured header x-ratelimit-remaining-requests = %q, want 41", got)
	}

	// Without a Capture in the context the transport still works.
	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("status %d, want %d", resp.StatusCode, http.StatusTeapot)
	}

	var none measure.Capture
	if none.Status() != 0 || none.Header() != nil {
		t.Errorf("an unused Capture reports status %d and header %v", none.Status(), none.Header())
	}
}

func TestCaptureTransportWithoutResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	var c measure.Capture
	req, err := http.NewRequestWithContext(measure.WithCapture(t.Context(), &c), http.MethodGet, "http://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := (&http.Client{Transport: measure.CaptureTransport{Base: &http.Transport{}}}).Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("request to a closed port succeeded")
	}
	if c.Status() != 0 {
		t.Errorf("captured status %d without a response, want 0", c.Status())
	}
}
