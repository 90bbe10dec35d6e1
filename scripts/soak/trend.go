//go:build linux

package main

import (
	"fmt"
	"slices"
)

// tolerance is how much a figure may grow between the second and the last
// quarter of a run before it counts as a trend: by Rel of its earlier
// median, plus Abs.
type tolerance struct {
	Rel float64
	Abs float64
}

// trend reports whether the samples grow over the run, and says how: the
// median of the last quarter is compared with the median of the second
// quarter (the first is left out: caches fill, pools warm up). A figure
// that leaks rises steadily, so it ends above its earlier level whatever
// the noise; one that is only busy goes up and down around a level. Fewer
// than eight samples tell nothing, and never count as a trend.
func trend(samples []float64, tol tolerance) (bool, string) {
	n := len(samples)
	if n < 8 {
		return false, fmt.Sprintf("%d samples, too few to tell", n)
	}
	q := n / 4
	before := median(samples[q : 2*q])
	after := median(samples[n-q:])
	limit := before*(1+tol.Rel) + tol.Abs
	return after > limit, fmt.Sprintf("median %.0f in the second quarter, %.0f in the last (limit %.0f)", before, after, limit)
}

// median returns the median of xs, which must not be empty; xs is left
// as it is.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
