package measure

import (
	"runtime"
	"testing"
	"time"
)

// TestStackReserve: the reserve's goroutines are running before the
// instant, at most maxStackReserve of them, and all end once it is let go
// (its timer does that stackWarmLead before the instant); an instant too
// close gets none, and a reserve let go takes no more.
func TestStackReserve(t *testing.T) {
	var none stackReserve
	none.add(time.Now().Add(stackWarmLead/2), 10)
	if none.n != 0 || none.until != nil {
		t.Errorf("an instant closer than the lead got a reserve of %d", none.n)
	}

	var r stackReserve
	at := time.Now().Add(time.Hour)
	r.add(at, maxStackReserve-5)
	r.add(at, 10)
	if r.n != maxStackReserve {
		t.Errorf("reserve of %d goroutines, want the bound %d", r.n, maxStackReserve)
	}
	if got := r.running.Load(); got != maxStackReserve {
		t.Errorf("%d reserve goroutines before the instant, want %d", got, maxStackReserve)
	}
	r.letGo()
	r.letGo()
	deadline := time.Now().Add(time.Minute)
	for r.running.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d reserve goroutines still running a minute after the reserve was let go", r.running.Load())
		}
		runtime.Gosched()
	}

	var early stackReserve
	early.letGo()
	early.add(at, 10)
	if early.n != 0 || early.running.Load() != 0 {
		t.Errorf("a reserve let go took %d goroutines", early.n)
	}
}

// TestStackReserveTimer: without being let go, the reserve ends its
// goroutines before the instant, on its own timer.
func TestStackReserveTimer(t *testing.T) {
	var r stackReserve
	at := time.Now().Add(stackWarmLead + 200*time.Millisecond)
	r.add(at, 10)
	<-r.until
	for r.running.Load() > 0 {
		runtime.Gosched()
	}
}
