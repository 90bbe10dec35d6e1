// Package proctest provides utilities for tests of programs that start
// processes: waiting for a condition, waiting for a process to be gone,
// reading what the system says of a process (its children, open
// descriptors, memory and reads), and making what such tests need (files
// and scripts, a unix socket's path, a TCP connection). It is for tests
// only.
//
// The readers of /proc skip the test on systems that have none.
package proctest

import (
	"fmt"
	"testing"
	"time"
)

// Eventually calls cond every 10 ms until it returns nil and fails t with
// the last error cond returned if that has not happened within timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Received returns a condition for Eventually that holds once c has been
// sent a value, which it takes; what names that value in the failure.
func Received(c <-chan struct{}, what string) func() error {
	return func() error {
		select {
		case <-c:
			return nil
		default:
			return fmt.Errorf("still waiting for %s", what)
		}
	}
}

// WaitGone waits up to timeout for pid to be gone (see Gone) and fails t
// if it still runs then.
func WaitGone(t testing.TB, pid int, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		if Gone(pid) {
			return nil
		}
		return fmt.Errorf("process %d still running", pid)
	})
}
