package proctest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Gone reports whether pid no longer runs: it does not exist, or it is a
// zombie that no reaper has collected yet.
func Gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	state, _, err := stat(pid)
	return err != nil || state == "Z"
}

// stat returns the state letter and the parent of pid, from /proc/PID/stat.
func stat(pid int) (state string, ppid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return "", 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err
}

// Children returns the processes whose parent is pid, zombies included,
// each with its state letter (R, S, Z...).
func Children(t testing.TB, pid int) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	kids := map[int]string{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, err := stat(child); err == nil && ppid == pid {
			kids[child] = state
		}
	}
	return kids
}

// Cmdline returns the arguments pid was started with, or nil if it is gone.
func Cmdline(t testing.TB, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// OpenFDs returns how many descriptors pid has open.
func OpenFDs(t testing.TB, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// StatusKB returns a field of /proc/PID/status counted in KiB, such as
// VmRSS (the resident set size) or VmHWM (its peak).
func StatusKB(t testing.TB, pid int, field string) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s in /proc/%d/status: %v", field, pid, err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// BytesRead returns how many bytes pid has read with read(2) and the like,
// sockets included.
func BytesRead(t testing.TB, pid int) int64 {
	t.Helper()
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(io), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("rchar in /proc/%d/io: %v", pid, err)
			}
			return n
		}
	}
	t.Fatalf("no rchar in /proc/%d/io", pid)
	return 0
}
