//go:build linux

package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogramPercentile(t *testing.T) {
	var h histogram
	if got := h.percentile(50); !math.IsNaN(got) {
		t.Errorf("percentile of nothing = %v, want NaN", got)
	}
	// 1 ms to 100 ms, one each.
	for ms := 1; ms <= 100; ms++ {
		h.add(time.Duration(ms) * time.Millisecond)
	}
	for _, c := range []struct{ p, want float64 }{{50, 50e-3}, {99, 99e-3}, {100, 100e-3}, {1, 1e-3}} {
		got := h.percentile(c.p)
		if got < c.want || got > c.want*bucketGrowth {
			t.Errorf("percentile(%v) = %v, want within 1 %% above %v", c.p, got, c.want)
		}
	}
}

func TestHistogramBounds(t *testing.T) {
	var h histogram
	h.add(0)
	h.add(time.Hour)
	if got := h.percentile(50); got != 1e-6 {
		t.Errorf("percentile(50) of 0 and an hour = %v, want 1 µs", got)
	}
	if got, top := h.percentile(100), math.Pow(bucketGrowth, histogramBuckets-1)*1e-6; got != top {
		t.Errorf("percentile(100) of 0 and an hour = %v, want the last bucket's %v", got, top)
	}
}
