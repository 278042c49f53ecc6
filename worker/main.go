// Command worker runs the concurrency test's workflows and its API calls. It
// alone holds the API key (OPENAI_API_KEY) and the endpoint (OPENAI_BASE_URL,
// default https://api.openai.com/v1). Temporal is reached through the standard
// TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_PROFILE configuration.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/llmconc/llmconc/workerhost"
)

func main() {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if err := workerhost.Run(context.Background(), os.Getenv, logf); err != nil {
		fmt.Fprintln(os.Stderr, "worker: "+err.Error())
		os.Exit(1)
	}
}
