//go:build linux

package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 150, stime 25,
	// cutime 900 and cstime 99.
	stat := "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 900 99 20 0 8 0 100 1000000 500 18446744073709551615\n"
	for field, want := range map[int]time.Duration{statUtime: 175 * clockTick, statCutime: 999 * clockTick} {
		got, err := parseStatCPU([]byte(stat), field)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("parseStatCPU(field %d) = %v, want %v", field, got, want)
		}
	}
	for _, bad := range []string{"4242 no parenthesis", "4242 (short) S 1 2 3 4 5 6 7 8 9 10 11 12 13"} {
		if _, err := parseStatCPU([]byte(bad), statCutime); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tcat\nVmPeak:\t    9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1536 kB\nThreads:\t1\n"
	for key, want := range map[string]int64{"VmRSS": 1536 << 10, "VmHWM": 2048 << 10} {
		got, err := parseStatus(strings.NewReader(status), key)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("parseStatus(%s) = %d, want %d", key, got, want)
		}
	}
	if _, err := parseStatus(strings.NewReader(status), "VmSwap"); err == nil {
		t.Error("parseStatus of a missing field: no error")
	}
	if _, err := parseStatus(strings.NewReader(status), "Threads"); err == nil {
		t.Error("parseStatus of a field without kB: no error")
	}
}

// TestOwnProcess reads the test's own /proc files, so that the parsers
// are checked against what this kernel writes.
func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	cpu, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if cpu < 0 || cpu > time.Hour {
		t.Errorf("cpuTime = %v", cpu)
	}
	rss, err := memory(pid, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	hwm, err := memory(pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 || hwm < rss {
		t.Errorf("VmRSS = %d, VmHWM = %d", rss, hwm)
	}
}
