package main

import (
	"context"
	"strings"
	"testing"

	"github.com/llmconc/llmconc/codec"
)

const goodKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes

func TestBadInputIsOneLineAndExitCode2(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"unknown flag":    {[]string{"-port", "1"}, map[string]string{codec.EnvKey: goodKey}, "-port"},
		"extra argument":  {[]string{"now"}, map[string]string{codec.EnvKey: goodKey}, "now"},
		"bad origin":      {[]string{"-origins", "localhost:8233"}, map[string]string{codec.EnvKey: goodKey}, "-origins"},
		"no key":          {nil, nil, codec.EnvKey},
		"short key":       {nil, map[string]string{codec.EnvKey: "c2hvcnQ="}, "openssl rand -base64 32"},
		"bad old key":     {nil, map[string]string{codec.EnvKey: goodKey, codec.EnvOldKeys: "zz"}, codec.EnvOldKeys},
		"old key, no key": {nil, map[string]string{codec.EnvOldKeys: goodKey}, codec.EnvKey},
	} {
		var stderr strings.Builder
		code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stderr)
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "codec-server: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line naming %q", name, code, stderr.String(), tc.want)
		}
		if strings.Contains(stderr.String(), goodKey) {
			t.Errorf("%s: stderr quotes the key", name)
		}
	}
}

func TestListenFailureIsExitCode1(t *testing.T) {
	var stderr strings.Builder
	code := run(context.Background(), []string{"-listen", "256.0.0.1:1"}, func(k string) string {
		switch k {
		case codec.EnvKey:
			return goodKey
		case codec.EnvServerToken: // not loopback: a token is required
			return "t0ken"
		}
		return ""
	}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "listen on 256.0.0.1:1") {
		t.Errorf("exit %d, stderr %q; want 1 and the address", code, stderr.String())
	}
}

func TestOpenListenWithoutTokenIsExitCode2(t *testing.T) {
	var stderr strings.Builder
	code := run(context.Background(), []string{"-listen", "0.0.0.0:0"}, func(k string) string {
		if k == codec.EnvKey {
			return goodKey
		}
		return ""
	}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), codec.EnvServerToken) || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 2 and one line naming %s", code, stderr.String(), codec.EnvServerToken)
	}
}
