package measure

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitHeldBoundsDeepWaits: past maxDeepWaits held requests, the others
// wait in a small frame, and all are released at fire.
func TestWaitHeldBoundsDeepWaits(t *testing.T) {
	fire := make(chan struct{})
	n := maxDeepWaits + 100
	var wg sync.WaitGroup
	var released atomic.Int64
	for range n {
		wg.Go(func() {
			if waitHeld(context.Background(), fire) {
				released.Add(1)
			}
		})
	}
	giveUp := time.Now().Add(time.Minute)
	for deepWaits.Load() != maxDeepWaits || shallowWaits.Load() != int64(n-maxDeepWaits) {
		if time.Now().After(giveUp) {
			close(fire)
			t.Fatalf("held: %d deep and %d shallow waits, want %d and %d", deepWaits.Load(), shallowWaits.Load(), maxDeepWaits, n-maxDeepWaits)
		}
		runtime.Gosched()
	}
	close(fire)
	wg.Wait()
	if got := released.Load(); got != int64(n) {
		t.Errorf("%d of %d released with their context alive", got, n)
	}
	if d, s := deepWaits.Load(), shallowWaits.Load(); d != 0 || s != 0 {
		t.Errorf("after the release: %d deep and %d shallow waits", d, s)
	}
}
