//go:build linux

package main

import (
	"errors"
	"testing"
	"time"
)

func TestStampedLine(t *testing.T) {
	now := time.Unix(1767225600, 123456789)
	line := stampLine(make([]byte, messageSize), 1_000_042, now)
	if want := "1767225600123456789 0001000042 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; string(line) != want {
		t.Fatalf("stampLine = %q, want %q", line, want)
	}
	stamp, seq, err := parseStamped(line)
	if err != nil || !stamp.Equal(now) || seq != 1_000_042 {
		t.Errorf("parseStamped = %v, %d, %v; want %v, 1000042, nil", stamp, seq, err, now)
	}
	for _, bad := range []string{"", "hello", string(line[:messageSize-1]), "176722560012345678x" + string(line[stampDigits:])} {
		if _, _, err := parseStamped([]byte(bad)); err == nil {
			t.Errorf("parseStamped(%q) succeeded", bad)
		}
	}
}

func TestBurst(t *testing.T) {
	b := burst{first: 7, count: 3, rate: 0}
	got, err := parseBurst(b.String())
	if err != nil || got != b {
		t.Fatalf("parseBurst(%q) = %v, %v", b.String(), got, err)
	}
	for _, bad := range []string{"", "1 2", "1 2 3 4", "a 2 3", "1 -2 3"} {
		if _, err := parseBurst(bad); err == nil {
			t.Errorf("parseBurst(%q) succeeded", bad)
		}
	}
	var seqs []int64
	err = emit(b, func(p []byte) error {
		_, seq, err := parseStamped(p)
		seqs = append(seqs, seq)
		return err
	})
	if err != nil || len(seqs) != 3 || seqs[0] != 7 || seqs[2] != 9 {
		t.Errorf("emit of %v wrote %v, %v; want 7 8 9", b, seqs, err)
	}
	stop := errors.New("stop")
	if err := emit(burst{count: 5}, func([]byte) error { return stop }); err != stop {
		t.Errorf("emit returned %v, want the write's error", err)
	}
}

func TestEmitKeepsToItsRate(t *testing.T) {
	start := time.Now()
	n := 0
	emit(burst{count: 20, rate: 1000}, func([]byte) error { n++; return nil })
	if d := time.Since(start); n != 20 || d < 18*time.Millisecond {
		t.Errorf("20 lines at 1000 a second took %v (%d lines), want at least 19 ms", d, n)
	}
}
