package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/llmconc/llmconc/chat"
	"github.com/llmconc/llmconc/record"
)

// SendProgress is the heartbeat detail of a running batch: what a retried
// attempt of the same batch needs to go on where a lost one stopped. When a
// worker dies mid-batch, Temporal retries the batch on another worker with
// the last details it received; that attempt keeps the answered records and
// sends only the rest.
type SendProgress struct {
	// Records are the requests answered so far, in order of arrival.
	Records []record.Request `json:"records"`
	// InFlight are the indices of requests sent (by this attempt or a lost
	// earlier one) and not answered yet: a later attempt that sends one of
	// them again marks its record Resent.
	InFlight []int `json:"in_flight,omitempty"`
}

// encodedProgress is SendProgress with each record encoded once, when it is
// answered: a heartbeat then costs a concatenation, not the encoding of every
// record so far.
type encodedProgress struct {
	Records  json.RawMessage `json:"records"`
	InFlight []int           `json:"in_flight,omitempty"`
}

// batchProgress tracks a batch's answered and in-flight requests for its
// heartbeats, and what it resumed from a lost attempt.
type batchProgress struct {
	mu       sync.Mutex
	records  []record.Request
	encoded  []byte // the records as a JSON array body, without brackets
	inFlight map[int]bool
	// sentBefore holds the requests a lost attempt had sent without a
	// recorded answer.
	sentBefore map[int]bool
	// resent holds the requests sent by this attempt after a lost one.
	resent map[int]bool
	// version counts the changes; a heartbeat carries the latest.
	version int
}

// resumeProgress returns the progress a retried attempt starts from: the
// records and in-flight requests of the last heartbeat of a lost attempt,
// if there was one. A record whose index is not part of the batch is
// dropped.
func resumeProgress(ctx context.Context, in SendInput) (*batchProgress, error) {
	// Sized for the batch: the senders mark their requests in flight at
	// the send instant, all at once, where growing the map would cost.
	p := &batchProgress{inFlight: make(map[int]bool, len(in.Requests)), sentBefore: map[int]bool{}, resent: map[int]bool{}}
	if !activity.HasHeartbeatDetails(ctx) {
		return p, nil
	}
	var prev SendProgress
	if err := activity.GetHeartbeatDetails(ctx, &prev); err != nil {
		return nil, fmt.Errorf("read the progress of the batch's lost attempt: %w", err)
	}
	want := map[int]bool{}
	for _, s := range in.Requests {
		want[s.Index] = true
	}
	for _, rec := range prev.Records {
		if want[rec.Index] {
			want[rec.Index] = false
			if err := p.addLocked(rec); err != nil {
				return nil, err
			}
		}
	}
	for _, idx := range prev.InFlight {
		if want[idx] {
			p.sentBefore[idx] = true
		}
	}
	return p, nil
}

// unanswered returns the requests of specs without a record: those left to
// send.
func (p *batchProgress) unanswered(specs []RequestSpec) []chat.Prompt {
	p.mu.Lock()
	defer p.mu.Unlock()
	done := make(map[int]bool, len(p.records))
	for _, r := range p.records {
		done[r.Index] = true
	}
	todo := make([]chat.Prompt, 0, len(specs))
	for _, s := range specs {
		if !done[s.Index] {
			todo = append(todo, chat.Prompt{Index: s.Index, Text: s.Prompt, Offset: s.SendOffset})
		}
	}
	return todo
}

// fatal reports whether a record so far is fatal (see record.Request.Fatal).
func (p *batchProgress) fatal() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.records {
		if r.Fatal() {
			return true
		}
	}
	return false
}

// sending marks a request as sent, and notes whether a lost attempt had
// sent it already.
func (p *batchProgress) sending(idx int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight[idx] = true
	if p.sentBefore[idx] {
		p.resent[idx] = true
	}
	p.version++
}

// add records an answer, marked resent when its request was sent
// (sending) after a lost attempt had sent it.
func (p *batchProgress) add(rec record.Request) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec.Resent = p.resent[rec.Index]
	delete(p.resent, rec.Index)
	delete(p.inFlight, rec.Index)
	delete(p.sentBefore, rec.Index)
	return p.addLocked(rec)
}

func (p *batchProgress) addLocked(rec record.Request) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode the record of request %d: %w", rec.Index, err)
	}
	if len(p.encoded) > 0 {
		p.encoded = append(p.encoded, ',')
	}
	p.encoded = append(p.encoded, b...)
	p.records = append(p.records, rec)
	p.version++
	return nil
}

// result returns the records so far as a batch's result: a result past
// Temporal's payload limit would lose every record, so their response texts
// are trimmed to fit (see fitRecords).
func (p *batchProgress) result() []record.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	recs := append([]record.Request(nil), p.records...)
	// The records leave room for the rest of SendOutput (the worker's
	// identity, the attempt, the time).
	const rest = 2 << 10
	if len(p.encoded) > MaxBatchResultBytes-64-rest {
		recs = fitRecords(recs, MaxBatchResultBytes-rest)
	}
	return recs
}

// changedSince reports whether anything changed after version v.
func (p *batchProgress) changedSince(v int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.version != v
}

// snapshot returns the heartbeat detail and its version.
func (p *batchProgress) snapshot() (encodedProgress, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	recs := make([]byte, 0, len(p.encoded)+2)
	recs = append(append(append(recs, '['), p.encoded...), ']')
	if len(recs) > MaxBatchResultBytes {
		// Heartbeat details have the payload limit too (see fitRecords).
		if b, err := json.Marshal(fitRecords(p.records, MaxBatchResultBytes)); err == nil {
			recs = b
		}
	}
	ep := encodedProgress{Records: recs}
	// A request that a lost attempt sent and this one has not sent yet is
	// still one that a later attempt resends.
	for idx := range p.sentBefore {
		if !p.inFlight[idx] {
			ep.InFlight = append(ep.InFlight, idx)
		}
	}
	for idx := range p.inFlight {
		ep.InFlight = append(ep.InFlight, idx)
	}
	sort.Ints(ep.InFlight)
	return ep, p.version
}

// Heartbeat pacing: by default a batch hands its progress to the SDK at
// most every defaultHeartbeatGap (HeartbeatEvery), and at least every
// heartbeatIdleAfter when nothing changed, well inside the workflow's
// heartbeat timeout; the SDK sends the latest at most every
// MaxHeartbeatThrottleInterval (workerhost.HeartbeatThrottle).
const (
	defaultHeartbeatGap = time.Second
	heartbeatIdleAfter  = 3 * time.Second
)

// heartbeat records the batch's progress as heartbeat details until the
// returned func is called: whenever it changed, at most every
// HeartbeatEvery, and at least every few of those. That lets Temporal notice
// a crashed worker, brings cancellation to us, and gives a retried attempt
// the requests already answered.
func (a *Activities) heartbeat(ctx context.Context, p *batchProgress) func() {
	every := a.HeartbeatEvery
	if every <= 0 {
		every = defaultHeartbeatGap
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	send := func() int {
		ep, v := p.snapshot()
		activity.RecordHeartbeat(ctx, ep)
		return v
	}
	go func() {
		defer close(stopped)
		// Nothing to report before the first tick: a fresh batch has no
		// answer yet, and a resumed one's progress is still on the server.
		sent, idle := 0, 0
		idleGaps := max(1, int(heartbeatIdleAfter/every))
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				idle++
				if p.changedSince(sent) || idle >= idleGaps {
					sent, idle = send(), 0
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// Salvaged returns the records that a batch of pass with requests specs,
// failed for good, had reported in its last heartbeat p: once per request,
// the first report of each, and only the batch's own requests. The workflow
// counts them in the pass's figures; the history reader (history.ReadRecords)
// reads them from the batch's timeout in the history, where they stay.
func Salvaged(pass record.Pass, specs []RequestSpec, p SendProgress) []record.Request {
	want := make(map[int]bool, len(specs))
	for _, s := range specs {
		want[s.Index] = true
	}
	var out []record.Request
	for _, rec := range p.Records {
		if want[rec.Index] && rec.Pass == pass {
			want[rec.Index] = false
			out = append(out, rec)
		}
	}
	return out
}
