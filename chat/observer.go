package chat

import "github.com/llmconc/llmconc/record"

// Observer is told of the requests a Sender sends, for live figures such as
// a worker's metrics endpoint: Started as a request goes in flight (a request
// held for its batch's send instant: at its release, not before), Finished
// with its record once it is answered, has failed, or was cut short by the
// end of its batch's context. Every Started is followed by one Finished.
// Both are called from the senders' goroutines, concurrently, on the hot
// path: an Observer must be safe for concurrent use, cheap, and must not
// keep the record.
type Observer interface {
	Started()
	Finished(rec record.Request)
}

// started tells s.Observer, if any, that a request is in flight.
func (s *Sender) started() {
	if s.Observer != nil {
		s.Observer.Started()
	}
}

// finished tells s.Observer, if any, that a request it was told of is over.
func (s *Sender) finished(rec record.Request) {
	if s.Observer != nil {
		s.Observer.Finished(rec)
	}
}
