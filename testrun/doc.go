// Package testrun is one concurrency test run as data: what it is asked to do
// (Input, with its defaults and its validation), what it measured (Result,
// PassResult), how far it has got (Progress) and its outcome in brief
// (Headline).
//
// It imports only the data model (record), the statistics (stats) and the
// analysis: no Temporal SDK, no go-openai. The workflow (package workflows)
// runs an Input; the starter resolves and checks it (WithDefaults, Validate)
// before it starts a run; the reports read a Result.
package testrun
