package measure

import (
	"runtime"
	"testing"
	"time"
)

// TestStackReserve: the reserve's goroutines are running before the
// instant, at most maxStackReserve of them, and have all ended before the
// instant; an instant too close gets none.
func TestStackReserve(t *testing.T) {
	var none stackReserve
	none.add(time.Now().Add(stackWarmLead/2), 10)
	if none.n != 0 || none.until != nil {
		t.Errorf("an instant closer than the lead got a reserve of %d", none.n)
	}

	var r stackReserve
	at := time.Now().Add(stackWarmLead + 2*time.Second)
	r.add(at, maxStackReserve-5)
	r.add(at, 10)
	if r.n != maxStackReserve {
		t.Errorf("reserve of %d goroutines, want the bound %d", r.n, maxStackReserve)
	}
	if got := reserveRunning.Load(); got != maxStackReserve {
		t.Errorf("%d reserve goroutines before the instant, want %d", got, maxStackReserve)
	}
	<-r.until
	for reserveRunning.Load() > 0 {
		if time.Now().After(at) {
			t.Fatalf("%d reserve goroutines still running at the instant", reserveRunning.Load())
		}
		runtime.Gosched()
	}
}
