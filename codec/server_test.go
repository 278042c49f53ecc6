package codec

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const uiOrigin = "http://localhost:8233"

func newServer(t *testing.T, token string) (*httptest.Server, *Codec) {
	t.Helper()
	c := newCodec(t, newKey(t))
	srv := httptest.NewServer(Handler(c, ServerOptions{Origins: DefaultOrigins, Token: token}))
	t.Cleanup(srv.Close)
	return srv, c
}

// post sends payloads as protobuf JSON, as the UI does, and returns the
// response.
func post(t *testing.T, url string, header http.Header, ps []*commonpb.Payload) *http.Response {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readPayloads(t *testing.T, resp *http.Response) []*commonpb.Payload {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var ps commonpb.Payloads
	if err := protojson.Unmarshal(b, &ps); err != nil {
		t.Fatalf("response is not Payloads JSON: %v\n%s", err, b)
	}
	return ps.GetPayloads()
}

func TestServerRoundTripOverHTTP(t *testing.T) {
	srv, c := newServer(t, "")
	plain, _ := converter.GetDefaultDataConverter().ToPayload(sample)

	// The SDK's own remote codec client (what `temporal --codec-endpoint`
	// uses) against our server: encode, then decode.
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: srv.URL + "/default"})
	enc, err := remote.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if !IsEncrypted(enc[0]) || bytes.Contains(enc[0].GetData(), []byte(sample.Prompt)) {
		t.Fatalf("/encode returned %v, want an encrypted payload", enc[0])
	}
	// What the server encrypted, the local codec decrypts.
	if local, err := c.Decode(enc); err != nil || !bytes.Equal(local[0].GetData(), plain.GetData()) {
		t.Fatalf("local decode of the server's ciphertext: %v", err)
	}
	dec, err := remote.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec[0].GetData(), plain.GetData()) || string(dec[0].GetMetadata()[converter.MetadataEncoding]) != "json/plain" {
		t.Errorf("/decode returned %v, want %v", dec[0], plain)
	}

	// As the UI does it: a browser POST with an Origin header, to /decode.
	resp := post(t, srv.URL+"/decode", http.Header{"Origin": {uiOrigin}, "X-Namespace": {"default"}}, enc)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != uiOrigin {
		t.Errorf("Access-Control-Allow-Origin %q, want %q", got, uiOrigin)
	}
	ps := readPayloads(t, resp)
	if len(ps) != 1 || !bytes.Contains(ps[0].GetData(), []byte(sample.Prompt)) {
		t.Errorf("decoded %v, want the prompt", ps)
	}

	// Plain payloads pass through /decode.
	ps = readPayloads(t, post(t, srv.URL+"/decode", nil, []*commonpb.Payload{plain}))
	if len(ps) != 1 || !bytes.Equal(ps[0].GetData(), plain.GetData()) {
		t.Errorf("plain payload through /decode: %v", ps)
	}
}

func TestServerCORS(t *testing.T) {
	srv, _ := newServer(t, "secret-token")
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, origin := range DefaultOrigins {
		resp := preflight(origin)
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("preflight from %s: status %d, want 204 (no token needed)", origin, resp.StatusCode)
		}
		h := resp.Header
		if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("preflight from %s: headers %v", origin, h)
		}
		for _, want := range []string{"Authorization", "Content-Type", "X-Namespace"} {
			if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
				t.Errorf("preflight from %s: Access-Control-Allow-Headers %q lacks %s", origin, h.Get("Access-Control-Allow-Headers"), want)
			}
		}
	}
	resp := preflight("http://evil.example")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: status %d, allow-origin %q; want 403 and none", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = post(t, srv.URL+"/decode", http.Header{"Origin": {"http://evil.example"}, "Authorization": {"Bearer secret-token"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST from another origin with the token: status %d, want 403", resp.StatusCode)
	}
}

func TestServerToken(t *testing.T) {
	srv, c := newServer(t, "secret-token")
	enc, _ := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"hello"`)}})
	for name, h := range map[string]http.Header{
		"no token":        nil,
		"wrong token":     {"Authorization": {"Bearer secret-tokem"}},
		"not bearer":      {"Authorization": {"Basic secret-token"}},
		"token as prefix": {"Authorization": {"Bearer secret-token-and-more"}},
	} {
		resp := post(t, srv.URL+"/decode", h, enc)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized || bytes.Contains(b, []byte("hello")) {
			t.Errorf("%s: status %d body %q, want 401 and nothing decoded", name, resp.StatusCode, b)
		}
	}
	ps := readPayloads(t, post(t, srv.URL+"/decode", http.Header{"Authorization": {"Bearer secret-token"}, "Origin": {uiOrigin}}, enc))
	if len(ps) != 1 || string(ps[0].GetData()) != `"hello"` {
		t.Errorf("with the token: %v", ps)
	}
	// The SDK client with the header the temporal CLI's --codec-auth sets.
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint:      srv.URL,
		ModifyRequest: func(r *http.Request) error { r.Header.Set("Authorization", "Bearer secret-token"); return nil },
	})
	if dec, err := remote.Decode(enc); err != nil || string(dec[0].GetData()) != `"hello"` {
		t.Errorf("remote codec with the token: %v, %v", dec, err)
	}
}

func TestServerRejectsWhatItCannotDecode(t *testing.T) {
	srv, _ := newServer(t, "")
	other := newCodec(t, newKey(t))
	enc, _ := other.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	resp := post(t, srv.URL+"/decode", nil, enc)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), other.KeyIDs()[0]) {
		t.Errorf("payload of another key: status %d body %q; want 400 naming its key ID", resp.StatusCode, b)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/decode", nil)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusNotFound {
		t.Errorf("GET /decode: status %d, want 404", r2.StatusCode)
	}
}

func TestParseOrigins(t *testing.T) {
	got, err := ParseOrigins(" http://localhost:8233, https://ui.example ,")
	if err != nil || len(got) != 2 || got[0] != "http://localhost:8233" || got[1] != "https://ui.example" {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"localhost:8233", "http://localhost:8233/", "ftp://x", "http://"} {
		if _, err := ParseOrigins(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestServerRunServesAndStops(t *testing.T) {
	k := newKey(t)
	getenv := env(map[string]string{EnvKey: base64.StdEncoding.EncodeToString(k)})
	srv, err := NewServer(ServerConfig{Listen: "127.0.0.1:0", Origins: DefaultOrigins}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- srv.Run(ctx, func(format string, args ...any) { lines <- fmt.Sprintf(format, args...) })
	}()
	var line string
	select {
	case line = <-lines:
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no listening line within 10 s")
	}
	if !strings.Contains(line, KeyID(k)) || strings.Contains(line, base64.StdEncoding.EncodeToString(k)) {
		t.Errorf("log line %q: want the key ID and not the key", line)
	}
	url := strings.Fields(strings.SplitN(line, "listening on ", 2)[1])[0]
	enc, _ := newCodec(t, k).Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if ps := readPayloads(t, post(t, url+"/decode", nil, enc)); string(ps[0].GetData()) != "x" {
		t.Errorf("decoded %v", ps)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of cancel")
	}

	if _, err := NewServer(ServerConfig{Listen: "127.0.0.1:0"}, env(nil)); err == nil || !strings.Contains(err.Error(), EnvKey) {
		t.Errorf("NewServer without a key: %v, want an error naming %s", err, EnvKey)
	}
}
