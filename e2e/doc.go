// Package e2e holds the end-to-end tests of llmconc. They build the worker and
// starter binaries, start one Temporal dev server for the package (through the
// Temporal CLI, see package devserver), serve the simulator on 127.0.0.1, and
// run whole concurrency tests through them. The package has no code of its own
// beyond the tests; run them with
//
//	go test -race -count=1 ./e2e/ -v
package e2e
