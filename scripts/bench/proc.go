//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ, which
// Linux fixes at 100 for every user-space interface).
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user plus system) the process pid has used
// itself, its children excluded, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	return statCPU(pid, statUtime)
}

// childrenCPUTime returns the CPU time (user plus system) of the children
// of pid that have exited and been reaped, from /proc/PID/stat.
func childrenCPUTime(pid int) (time.Duration, error) {
	return statCPU(pid, statCutime)
}

// The fields of /proc/PID/stat, counted from 1, where the CPU times of
// the process (utime, then stime) and of its reaped children (cutime,
// then cstime) begin.
const (
	statUtime  = 14
	statCutime = 16
)

func statCPU(pid, field int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time: %w", err)
	}
	return parseStatCPU(b, field)
}

// parseStatCPU returns the sum of the field and the next, CPU times in
// clock ticks, from the contents of a /proc/PID/stat file. The command
// name, in parentheses, may hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseStatCPU(stat []byte, field int) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc stat: no ')' in %q", stat)
	}
	// After ')' come field 3 (state) onwards.
	f := strings.Fields(string(stat[i+1:]))
	first := field - 3
	if len(f) <= first+1 {
		return 0, fmt.Errorf("parsing /proc stat: %d fields after the command name, want more than %d", len(f), first+1)
	}
	var ticks int64
	for _, s := range f[first : first+2] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc stat CPU time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// memory returns the field key (such as "VmRSS" or "VmHWM") of
// /proc/PID/status, in bytes.
func memory(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", key, err)
	}
	defer f.Close()
	return parseStatus(f, key)
}

// parseStatus returns the field key of a /proc/PID/status file, in bytes.
// Memory fields are written as "VmRSS:	   1234 kB".
func parseStatus(r io.Reader, key string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parsing /proc status %s: unexpected value %q", key, value)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc status %s: %w", key, err)
		}
		return n << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading /proc status: %w", err)
	}
	return 0, fmt.Errorf("parsing /proc status: no %s field", key)
}

// openFiles returns how many files the process pid has open, from
// /proc/PID/fd.
func openFiles(pid int) (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("counting open files: %w", err)
	}
	return len(fds), nil
}
