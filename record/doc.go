// Package record is the data model of a measurement: what was measured about
// one request (Request), the pass it belongs to (Pass), its tries (Attempt),
// what a response said of the key's limits (RateLimit), how a failure is
// classified (the ErrorKind constants) and which endpoint was measured
// (Endpoint).
//
// It stands apart from the code that measures (package measure, package
// activities) and from the code that analyses and presents (package
// analysis, package report): as vegeta's lib.Result, it imports neither the
// Temporal SDK nor go-openai, and every layer above reads the same values.
package record
