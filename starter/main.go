// Command starter starts a concurrency test run (or attaches to one), shows
// its progress live, writes the result JSON and prints the report. With -dev
// it runs a complete demo on its own. See README.md.
package main

import (
	"os"

	"github.com/llmconc/llmconc/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
