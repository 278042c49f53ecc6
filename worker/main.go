// Command worker runs the concurrency test's workflows and its API calls. It
// alone holds the API keys and the endpoints: "default" (OPENAI_API_KEY and
// OPENAI_BASE_URL, default https://api.openai.com/v1) and those allow-listed by
// name in LLMCONC_ENDPOINTS. -task-queue (or LLMCONC_TASK_QUEUE) sets the task
// queue it polls; -h lists the flags and variables. Temporal is reached through the standard
// TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_PROFILE configuration. A
// configuration problem is one line each on stderr and exit code 2.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/llmconc/llmconc/workerhost"
)

func main() {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	err := workerhost.Run(context.Background(), os.Args[1:], os.Getenv, os.Stderr, logf)
	if errors.Is(err, workerhost.ErrHelp) {
		return
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "worker: "+line)
		}
		os.Exit(workerhost.ExitCode(err))
	}
}
