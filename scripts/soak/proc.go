//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// sample is what the server holds at one moment.
type sample struct {
	RSS      int64 // resident memory, in KiB
	FDs      int   // open descriptors
	Threads  int   // OS threads
	Children int   // processes whose parent is the server, zombies included
	Zombies  int   // of which exited and not reaped
}

// sampleOf reads the figures of process pid from /proc.
func sampleOf(pid int) (sample, error) {
	var s sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("sampling the server: %w", err)
	}
	if s.RSS, err = statusField(status, "VmRSS"); err != nil {
		return s, err
	}
	threads, err := statusField(status, "Threads")
	if err != nil {
		return s, err
	}
	s.Threads = int(threads)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("sampling the server: %w", err)
	}
	s.FDs = len(fds)
	s.Children, s.Zombies = children(pid)
	return s, nil
}

// statusField returns the number in field key of a /proc/PID/status file:
// "VmRSS:	    1234 kB" gives 1234, "Threads:	7" gives 7.
func statusField(status []byte, key string) (int64, error) {
	for line := range bytes.Lines(status) {
		name, value, ok := strings.Cut(string(line), ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %s in /proc status: %w", key, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no %s in /proc status", key)
}

// children counts the processes whose parent is pid, and the zombies
// among them. wsbridge's guardian, which lives as long as it, is not
// counted.
func children(pid int) (all, zombies int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		if cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline"); string(cmdline) == "wsbridge: guardian\x00" {
			continue
		}
		if ppid, state, ok := parentOf(stat); ok && ppid == pid {
			all++
			if state == "Z" {
				zombies++
			}
		}
	}
	return all, zombies
}

// parentOf returns the parent pid and the state letter from the contents
// of a /proc/PID/stat file. The command name, in parentheses, may hold
// spaces and parentheses, so the fields are counted from the last ')'.
func parentOf(stat []byte) (ppid int, state string, ok bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}
