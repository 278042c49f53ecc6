package workerhost

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
)

// EnvGrpcCompression sets the compression of the worker's requests to the
// Temporal server.
const EnvGrpcCompression = "LLMCONC_GRPC_COMPRESSION"

// GrpcCompression returns the compression of the worker's requests to the
// Temporal server, from LLMCONC_GRPC_COMPRESSION: none (the default) or
// gzip (the SDK's default).
//
// None, because the worker is a load generator: its heartbeats and results
// carry the records of a burst while the burst is still being read, and
// gzip takes a fresh compressor's memory for each of them. A worker that
// had already sent a pass of 1,000 spent about a fifth less CPU on its next
// pass without it (that pass first-touched a median of about 3,300 pages
// of memory instead of about 14,000; bench/README.md). Payloads encrypted with
// LLMCONC_CODEC_KEY do not compress anyway. gzip is for a worker on a slow
// link to its Temporal server: the records are JSON and shrink several
// times.
func GrpcCompression(getenv func(string) string) (client.GrpcCompression, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvGrpcCompression))); v {
	case "", "none":
		return &client.GrpcCompressionNone{}, nil
	case "gzip":
		return &client.GrpcCompressionGzip{}, nil
	default:
		return nil, &ConfigError{[]string{fmt.Sprintf("%s=%q: want none (the default) or gzip", EnvGrpcCompression, v)}}
	}
}
