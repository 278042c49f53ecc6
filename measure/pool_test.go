package measure

import (
	"net/http"
	"testing"
)

func TestHostPort(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://example.com/v1", "example.com:80"},
		{"https://api.openai.com/v1", "api.openai.com:443"},
		{"http://127.0.0.1:8080/v1", "127.0.0.1:8080"},
		{"https://example.com:8443/v1", "example.com:8443"},
		{"HTTPS://Example.com/v1", "Example.com:443"},
		{"http://[::1]/v1", "[::1]:80"},
		{"https://[::1]:9000/v1", "[::1]:9000"},
		{"ftp://example.com/v1", ""},
		{"example.com/v1", ""},
		{"", ""},
		{"http://%zz", ""},
	}
	for _, tc := range tests {
		if got := hostPort(tc.url); got != tc.want {
			t.Errorf("hostPort(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// TestCloseIdleConnectionsReachesTheTransport: the capture wrapper must pass
// CloseIdleConnections on, or a worker's idle sockets stay open.
func TestCloseIdleConnectionsReachesTheTransport(t *testing.T) {
	base := &closeCounter{}
	hc := &http.Client{Transport: CaptureTransport{Base: base}}
	hc.CloseIdleConnections()
	if base.closed != 1 {
		t.Fatalf("CloseIdleConnections reached the base transport %d times, want 1", base.closed)
	}
}

type closeCounter struct{ closed int }

func (c *closeCounter) RoundTrip(*http.Request) (*http.Response, error) { return nil, nil }
func (c *closeCounter) CloseIdleConnections()                           { c.closed++ }
