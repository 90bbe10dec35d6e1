//go:build !linux

package process

import "syscall"

// notifyRead returns nil: without epoll, a wait for a descriptor takes a
// goroutine.
func notifyRead(syscall.Conn, func()) (stop func() bool) { return nil }
