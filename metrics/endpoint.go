package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmconc/llmconc/record"
)

// Passes are the values of the label pass: a record's pass, with every
// level of a sweep or a probe as "sweep" (one series per level would grow
// with the levels), and anything else as "other".
var Passes = []string{"warmup", "sequential", "concurrent", "sweep", "other"}

// Statuses are the values of the label status: "ok" for a success, else the
// record's error kind (record.ErrorKindOf), a bounded set; an error kind
// unknown to this list counts as "other".
var Statuses = []string{
	"ok",
	record.ErrorKindTimeout, record.ErrorKindHTTP5xx, record.ErrorKindRateLimited, record.ErrorKindHTTP4xx,
	record.ErrorKindConnectionDropped, record.ErrorKindStreamStalled, record.ErrorKindStreamTruncated,
	record.ErrorKindMalformedResponse, record.ErrorKindSlowHeaders, record.ErrorKindCancelled,
	record.ErrorKindRedirect, record.ErrorKindResponseTooLarge, record.ErrorKindOther, record.ErrorKindNotSent,
}

const (
	numPasses   = 5
	passOther   = 4
	numStatuses = 15
)

var statusIndex = func() map[string]int {
	idx := make(map[string]int, len(Statuses))
	for i, s := range Statuses {
		idx[s] = i
	}
	return idx
}()

// Endpoint observes the requests of one endpoint (it implements
// chat.Observer). The series of a pass and status are made at their first
// request and kept: after that, a request costs a few atomic operations and
// no allocation.
type Endpoint struct {
	m        *Metrics
	name     string
	inFlight prometheus.Gauge

	requests                           [numPasses][numStatuses]lazy[prometheus.Counter]
	duration, ttft                     [numPasses]lazy[prometheus.Observer]
	remainingRequests, remainingTokens lazy[prometheus.Gauge]
}

// Started counts a request in flight.
func (e *Endpoint) Started() { e.inFlight.Inc() }

// Finished counts a request that was in flight by its pass and status, its
// latency and time to first token when it succeeded, and the rate-limit
// headers' remaining figures when its response had them.
func (e *Endpoint) Finished(rec record.Request) {
	e.inFlight.Dec()
	p, s := passOf(rec.Pass), statusOf(rec)
	e.requests[p][s].get(func() prometheus.Counter {
		return e.m.requests.WithLabelValues(e.name, Passes[p], Statuses[s])
	}).Inc()
	if rec.OK {
		e.duration[p].get(func() prometheus.Observer { return e.m.duration.WithLabelValues(e.name, Passes[p]) }).Observe(rec.LatencySeconds)
		if rec.TTFTSeconds != nil {
			e.ttft[p].get(func() prometheus.Observer { return e.m.ttft.WithLabelValues(e.name, Passes[p]) }).Observe(*rec.TTFTSeconds)
		}
	}
	if rl := rec.RateLimit; rl != nil {
		if rl.RemainingRequests != nil {
			e.remainingRequests.get(func() prometheus.Gauge { return e.m.remainingRequests.WithLabelValues(e.name) }).Set(float64(*rl.RemainingRequests))
		}
		if rl.RemainingTokens != nil {
			e.remainingTokens.get(func() prometheus.Gauge { return e.m.remainingTokens.WithLabelValues(e.name) }).Set(float64(*rl.RemainingTokens))
		}
	}
}

// passOf is the index in Passes of a record's pass.
func passOf(p record.Pass) int {
	switch p {
	case record.PassWarmup:
		return 0
	case record.PassSequential:
		return 1
	case record.PassConcurrent:
		return 2
	}
	if _, ok := p.SweepLevel(); ok {
		return 3
	}
	return passOther
}

// statusOf is the index in Statuses of a record's status.
func statusOf(rec record.Request) int {
	if rec.OK {
		return 0
	}
	if i, ok := statusIndex[record.ErrorKindOf(rec)]; ok {
		return i
	}
	return statusIndex[record.ErrorKindOther]
}

// lazy is a value made at its first use, then read without a lock.
type lazy[T any] struct{ p atomic.Pointer[T] }

// get returns the value, made by mk if it is the first use (if two make it
// at once, one wins and both get it).
func (l *lazy[T]) get(mk func() T) T {
	if v := l.p.Load(); v != nil {
		return *v
	}
	v := mk()
	l.p.CompareAndSwap(nil, &v)
	return *l.p.Load()
}
