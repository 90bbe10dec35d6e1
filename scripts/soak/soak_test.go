//go:build linux

package main

import (
	"os"
	"testing"
)

func TestTrend(t *testing.T) {
	flat := []float64{100, 140, 90, 120, 100, 130, 95, 110, 105, 125, 98, 115}
	leak := make([]float64, 40)
	for i := range leak {
		leak[i] = 1000 + 10*float64(i) + float64(i%3)*5 // steady growth, some noise
	}
	warmup := []float64{10, 50, 90, 100, 101, 99, 100, 102, 98, 100, 101, 100}
	spike := []float64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 400, 100}
	for _, tc := range []struct {
		name    string
		samples []float64
		tol     tolerance
		up      bool
	}{
		{"flat and noisy", flat, tolerance{Rel: 0.10}, false},
		{"steady growth", leak, tolerance{Rel: 0.10, Abs: 10}, true},
		{"growth within the tolerance", leak, tolerance{Rel: 0.50}, false},
		{"warm-up in the first quarter", warmup, tolerance{}, false},
		{"one spike at the end", spike, tolerance{}, false},
		{"too few samples", []float64{1, 2, 3, 4, 5, 6, 7}, tolerance{}, false},
		{"zombies piling up", []float64{0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7}, tolerance{Abs: 2}, true},
	} {
		if up, how := trend(tc.samples, tc.tol); up != tc.up {
			t.Errorf("%s: trend %v (%s), want %v", tc.name, up, how, tc.up)
		}
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{5, 1, 3}
	if m := median(xs); m != 3 {
		t.Errorf("median of %v = %v", xs, m)
	}
	if xs[0] != 5 {
		t.Errorf("median sorted its argument: %v", xs)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of four = %v", m)
	}
}

func TestVerdict(t *testing.T) {
	var samples []sample
	for i := range 20 {
		samples = append(samples, sample{RSS: 20000, FDs: 30 + i%5, Threads: 10, Children: 6 + i%4})
	}
	if r := verdict(samples); r.failed != "" || len(r.lines) != 5 {
		t.Errorf("steady run: %q", r)
	}
	for i := range samples {
		samples[i].FDs = 30 + 10*i // a descriptor leak
	}
	if r := verdict(samples); r.failed == "" {
		t.Errorf("leaking run passed: %q", r.lines)
	}
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\twsbridge\nVmRSS:\t   12345 kB\nThreads:\t7\n")
	for key, want := range map[string]int64{"VmRSS": 12345, "Threads": 7} {
		if got, err := statusField(status, key); err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", key, got, err, want)
		}
	}
	if _, err := statusField(status, "VmHWM"); err == nil {
		t.Error("a missing field gave no error")
	}
}

func TestParentOf(t *testing.T) {
	ppid, state, ok := parentOf([]byte("4242 (a (b) c) Z 17 4242 4242 0 -1"))
	if !ok || ppid != 17 || state != "Z" {
		t.Errorf("got %d %q %v", ppid, state, ok)
	}
	if _, _, ok := parentOf([]byte("garbage")); ok {
		t.Error("garbage parsed")
	}
}

func TestSampleOfSelf(t *testing.T) {
	s, err := sampleOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.FDs < 3 || s.Threads < 1 {
		t.Errorf("sample of this process: %+v", s)
	}
}
