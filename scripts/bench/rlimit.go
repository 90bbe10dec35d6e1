//go:build linux

package main

import (
	"fmt"
	"syscall"
)

// raiseOpenFiles raises the soft limit on open files to the hard limit and
// returns it. Setting it explicitly, rather than relying on the Go
// runtime's own raise, makes the servers the harness starts inherit it.
func raiseOpenFiles() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("reading the open-files limit: %w", err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("raising the open-files limit to %d: %w", l.Max, err)
	}
	return l.Max, nil
}

// filesNeeded returns how many open files a server may need to hold n
// connections to cat: up to five each (the socket, the child's stdin,
// stdout and stderr, and such as a pidfd to wait for it), and some to
// spare.
func filesNeeded(n int) uint64 {
	return 5*uint64(n) + 100
}
