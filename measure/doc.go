// Package measure is the HTTP machinery that times one LLM API request
// without disturbing it: a capturing transport (status, headers and the
// arrival of each server-sent event), bounds on what an endpoint may send
// (headers, bodies, lines, silences), redirects refused, connections opened
// ahead of a common send instant (ConnPool, Burst) and the gate that
// releases the held requests at that instant, what each request's
// connection was (conn trace), rate-limit headers, and the redaction of the
// key from what an endpoint sends back.
//
// It knows neither Temporal nor any LLM client library: it works on
// net/http requests and fills record.Request values.
package measure
