//go:build linux

package main

import (
	"math"
	"slices"
)

// median returns the middle value of xs, or the mean of the two middle
// values when len(xs) is even. It returns NaN for an empty slice. xs is not
// modified.
func median(xs []float64) float64 {
	return percentile(xs, 50)
}

// percentile returns the p-th percentile of xs (0 ≤ p ≤ 100), interpolating
// linearly between the closest ranks, as spreadsheets and numpy do by
// default. It returns NaN for an empty slice. xs is not modified.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	return s[lo] + (s[hi]-s[lo])*(rank-float64(lo))
}

// sum returns the sum of xs.
func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

// minimum returns the smallest value of xs, or NaN for an empty slice.
func minimum(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Min(xs)
}
