//go:build linux

package main

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	tests := []struct {
		p    float64
		want float64
	}{
		{0, 1},
		{50, 3},
		{100, 5},
		{25, 2},
		{99, 4.96},
	}
	for _, tt := range tests {
		if got := percentile(xs, tt.p); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("percentile(%v, %v) = %v, want %v", xs, tt.p, got, tt.want)
		}
	}
	if xs[0] != 5 {
		t.Errorf("percentile sorted its argument: %v", xs)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestSumMinimum(t *testing.T) {
	xs := []float64{2, 0, 5}
	if got := sum(xs); got != 7 {
		t.Errorf("sum(%v) = %v, want 7", xs, got)
	}
	if got := minimum(xs); got != 0 {
		t.Errorf("minimum(%v) = %v, want 0", xs, got)
	}
	if got := minimum(nil); !math.IsNaN(got) {
		t.Errorf("minimum(nil) = %v, want NaN", got)
	}
}
