//go:build !linux

package proctest

import (
	"os"
	"syscall"
	"testing"
)

// Gone reports whether pid no longer runs. Without /proc a zombie that no
// reaper has collected yet still counts as running.
func Gone(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	defer p.Release()
	return p.Signal(syscall.Signal(0)) != nil
}

// Children skips the test: there is no /proc to read.
func Children(t testing.TB, pid int) map[int]string {
	t.Helper()
	t.Skip("no /proc on this system")
	return nil
}

// Cmdline skips the test: there is no /proc to read.
func Cmdline(t testing.TB, pid int) []string {
	t.Helper()
	t.Skip("no /proc on this system")
	return nil
}

// OpenFDs skips the test: there is no /proc to read.
func OpenFDs(t testing.TB, pid int) int {
	t.Helper()
	t.Skip("no /proc on this system")
	return 0
}

// StatusKB skips the test: there is no /proc to read.
func StatusKB(t testing.TB, pid int, field string) int {
	t.Helper()
	t.Skip("no /proc on this system")
	return 0
}

// BytesRead skips the test: there is no /proc to read.
func BytesRead(t testing.TB, pid int) int64 {
	t.Helper()
	t.Skip("no /proc on this system")
	return 0
}
