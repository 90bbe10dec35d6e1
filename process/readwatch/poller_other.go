//go:build !linux

package readwatch

import "syscall"

// entry would be a descriptor's place in a poller: without epoll, a wait
// for a descriptor takes a goroutine, and arm reports that it cannot.
type entry struct{}

func (e *entry) init(syscall.Conn) {}

func (e *entry) arm(func()) bool { return false }

func (e *entry) disarm() func() { return nil }
