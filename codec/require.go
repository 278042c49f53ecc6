package codec

import (
	"fmt"
	"net"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// EnvRequire, set to 1 (or true), makes the worker and the starter refuse
// any payload that is not encrypted: with it, a run's history read from a
// server that someone could write to cannot feed them plaintext inputs (a
// workflow input, an activity result) in place of encrypted ones. It needs
// EnvKey. The codec server ignores it (it decodes whatever the UI shows).
const EnvRequire = "LLMCONC_CODEC_REQUIRE"

// requireFromEnv reads EnvRequire: off when unset, 0 or false.
func requireFromEnv(getenv func(string) string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(getenv(EnvRequire))) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, fmt.Errorf("%s must be 1 (refuse payloads that are not encrypted) or 0", EnvRequire)
}

// requireEncrypted is a Codec that refuses to decode a payload that is not
// encrypted.
type requireEncrypted struct{ *Codec }

func (r requireEncrypted) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	for _, p := range payloads {
		if p != nil && !IsEncrypted(p) {
			return nil, converter.NewWorkflowTaskFailureError(&KeyError{fmt.Sprintf(
				"a payload is not encrypted (encoding %q) and %s=1 refuses plaintext: it was written without %s, or by someone with write access to the Temporal server",
				cleanEncoding(p), EnvRequire, EnvKey)})
		}
	}
	return r.Codec.Decode(payloads)
}

// cleanEncoding is a payload's encoding for a message: printable and short.
func cleanEncoding(p *commonpb.Payload) string {
	e := string(p.GetMetadata()[converter.MetadataEncoding])
	if len(e) > 40 || strings.ContainsFunc(e, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return "…"
	}
	return e
}

// IsLoopback reports whether a listen address (host:port) only accepts
// connections from this machine: a loopback IP or "localhost". An empty
// host (all interfaces) is not.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
