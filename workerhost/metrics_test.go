package workerhost

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesABadMetricsAddress: a bad LLMCONC_METRICS_ADDR, or one
// whose port is taken, stops the worker before it dials Temporal, with one
// line naming the variable, and exit 2.
func TestRunRefusesABadMetricsAddress(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	t.Setenv("TEMPORAL_PROFILE", "")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for addr, want := range map[string]string{
		"9464":                  "is not host:port",
		"127.0.0.1:port":        "the port must be a number",
		taken.Addr().String():   "address already in use",
		"192.0.2.1:9464":        "cannot assign requested address",
		" 127.0.0.1:99999 ":     "the port must be a number",
		"[::1:9464":             "is not host:port",
		"metrics.example:-1":    "the port must be a number",
		"127.0.0.1:9464/metric": "the port must be a number",
	} {
		env := envOf(map[string]string{EnvAPIKey: "k", EnvMetricsAddr: addr})
		err := Run(context.Background(), nil, env, &bytes.Buffer{}, t.Logf)
		if err == nil || ExitCode(err) != 2 {
			t.Errorf("%s=%q: Run = %v (exit %d), want exit 2", EnvMetricsAddr, addr, err, ExitCode(err))
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, EnvMetricsAddr+": ") || !strings.Contains(msg, want) || strings.Contains(msg, "\n") || strings.Contains(msg, "127.0.0.1:1") {
			t.Errorf("%s=%q: error %q, want one line naming the variable and saying %q, before Temporal is dialled", EnvMetricsAddr, addr, msg, want)
		}
	}
}

// TestUsageNamesTheMetricsAddress: worker -h lists LLMCONC_METRICS_ADDR.
func TestUsageNamesTheMetricsAddress(t *testing.T) {
	var usage bytes.Buffer
	if err := Run(context.Background(), []string{"-h"}, envOf(nil), &usage, t.Logf); err != ErrHelp {
		t.Fatalf("Run -h = %v", err)
	}
	if !strings.Contains(usage.String(), EnvMetricsAddr+"  serve Prometheus metrics") {
		t.Errorf("usage lacks %s:\n%s", EnvMetricsAddr, usage.String())
	}
}
