package measure

import (
	"testing"
	"time"
)

func (g *FireGates) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.gates)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// waitClosed blocks until c is closed. The timeout only turns a hang into a
// failure.
func waitClosed(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("gate never opened")
	}
}

func TestFireGateSharedPerInstant(t *testing.T) {
	var g FireGates
	at := time.Now().Add(50 * time.Millisecond)
	c1, done1 := g.Wait(at)
	// The same instant as decoded from an activity input: no monotonic
	// reading, same nanosecond.
	c2, done2 := g.Wait(time.Unix(0, at.UnixNano()))
	if c1 != c2 {
		t.Fatal("two waiters on the same instant got different gates")
	}
	if isClosed(c1) && time.Now().Before(at) {
		t.Fatal("gate open before its instant")
	}
	waitClosed(t, c1)
	if now := time.Now(); now.Before(at) {
		t.Errorf("gate opened at %s, before its instant %s", now.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
	}
	if !isClosed(c2) {
		t.Error("second waiter's channel is not closed with the first")
	}

	if n := g.size(); n != 1 {
		t.Errorf("%d gates while both waiters hold one, want 1", n)
	}
	done1()
	if n := g.size(); n != 1 {
		t.Errorf("%d gates after the first waiter is done, want 1 (the second still uses it)", n)
	}
	done2()
	if n := g.size(); n != 0 {
		t.Errorf("%d gates after both waiters are done, want 0", n)
	}
}

func TestFireGateDifferentInstants(t *testing.T) {
	var g FireGates
	soon := time.Now().Add(20 * time.Millisecond)
	later := soon.Add(time.Hour)
	c1, done1 := g.Wait(soon)
	defer done1()
	c2, done2 := g.Wait(later)
	defer done2()
	c3, done3 := g.Wait(soon.Add(time.Nanosecond))
	defer done3()
	if c1 == c2 || c1 == c3 || c2 == c3 {
		t.Fatal("different instants share a gate")
	}
	if n := g.size(); n != 3 {
		t.Errorf("%d gates for 3 instants, want 3", n)
	}
	waitClosed(t, c1)
	if isClosed(c2) {
		t.Error("the gate an hour away opened with the one now")
	}
}

func TestFireGatePastInstantOpensAtOnce(t *testing.T) {
	var g FireGates
	c, done := g.Wait(time.Now().Add(-time.Second))
	defer done()
	waitClosed(t, c)
}

func TestFireGateReusedAfterRelease(t *testing.T) {
	var g FireGates
	at := time.Now().Add(-time.Millisecond)
	c1, done1 := g.Wait(at)
	waitClosed(t, c1)
	done1()
	if n := g.size(); n != 0 {
		t.Fatalf("%d gates after the only waiter is done, want 0", n)
	}
	// A later batch for the same (already passed) instant gets a gate that
	// opens too.
	c2, done2 := g.Wait(at)
	defer done2()
	waitClosed(t, c2)
}
