// Package workflows holds the workflow of one concurrency test run: a
// sequential pass of chained activities, then a concurrent pass of fanned-out
// activities that all send at one common instant. The run's input and
// result, as data, are package testrun's; the client-side reader of a run's
// history is package history.
package workflows

// TaskQueue is the task queue the worker polls and the starter starts runs on.
const TaskQueue = "llm-concurrency-test"

// ProgressQuery is the name of the query that returns a run's testrun.Progress.
const ProgressQuery = "progress"
