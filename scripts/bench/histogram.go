//go:build linux

package main

import (
	"math"
	"sync/atomic"
	"time"
)

// histogramBuckets is how many buckets a histogram has: each 1 % wider
// than the one before, from 1 µs, up to about 7 minutes.
const histogramBuckets = 2000

// bucketGrowth is the ratio of the bounds of two adjacent buckets.
const bucketGrowth = 1.01

// A histogram counts durations, safe for concurrent use, so that a
// percentile of millions of them is known within 1 % without keeping them.
// The zero value is empty.
type histogram struct {
	counts [histogramBuckets]atomic.Int64
}

// bucket returns the bucket of d: 0 up to 1 µs, then i for durations up
// to bucketGrowth^i µs.
func bucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	i := int(math.Ceil(math.Log(us) / math.Log(bucketGrowth)))
	return min(i, histogramBuckets-1)
}

// add counts d.
func (h *histogram) add(d time.Duration) {
	h.counts[bucket(d)].Add(1)
}

// percentile returns the p-th percentile (0 < p ≤ 100) of the durations
// counted, in seconds: the upper bound of the bucket that holds it. It
// returns NaN when none were.
func (h *histogram) percentile(p float64) float64 {
	var total int64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(p / 100 * float64(total)))
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return math.Pow(bucketGrowth, float64(i)) * 1e-6
		}
	}
	return math.Inf(1)
}
