package process

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestLimiter(t *testing.T) {
	l := NewLimiter(2)
	if !l.TryAcquire() || !l.TryAcquire() {
		t.Fatal("a free slot was refused")
	}
	if l.TryAcquire() {
		t.Fatal("a third slot was given out of two")
	}
	l.Release()
	if !l.TryAcquire() {
		t.Fatal("a released slot was refused")
	}
	if l.TryAcquire() {
		t.Fatal("a third slot was given out of two")
	}
}

func TestLimiterUnlimited(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    *Limiter
	}{
		{"NewLimiter(0)", NewLimiter(0)},
		{"NewLimiter(-1)", NewLimiter(-1)},
		{"nil", nil},
		{"zero", &Limiter{}},
	} {
		for range 1000 {
			if !tc.l.TryAcquire() {
				t.Fatalf("%s refused a slot", tc.name)
			}
		}
		for range 1000 {
			tc.l.Release()
		}
	}
	if NewLimiter(0) != nil {
		t.Error("NewLimiter(0) is not nil")
	}
}

func TestLimiterReleaseWithoutAcquire(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Release without a slot taken did not panic")
		}
	}()
	NewLimiter(1).Release()
}

func TestLimiterConcurrent(t *testing.T) {
	const n, workers, rounds = 3, 16, 500
	l := NewLimiter(n)
	var running, most, taken atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				if !l.TryAcquire() {
					continue
				}
				taken.Add(1)
				now := running.Add(1)
				for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
				}
				running.Add(-1)
				l.Release()
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > n {
		t.Errorf("%d slots taken at once, limit %d", m, n)
	}
	if taken.Load() == 0 {
		t.Error("no slot was ever taken")
	}
	// Every slot is free again.
	for range n {
		if !l.TryAcquire() {
			t.Fatal("a slot was not given back")
		}
	}
}
