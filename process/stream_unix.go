//go:build unix

package process

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// WaitRead blocks until a Read of the stream would not block: there is
// something to read, the stream has ended, or it was closed. A reader can
// so wait without holding a buffer. Where the stream cannot be waited on,
// it returns at once.
func (s *stream) WaitRead() {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return
	}
	// The network poller reports new data, not data already there: look
	// first.
	rc.Read(func(fd uintptr) bool { return readable(fd) })
}

// WaitReadFor waits as WaitRead does, for at most d, and reports whether
// a Read would now not block. A stream that takes no deadline is waited
// for as long as WaitRead would.
func (s *stream) WaitReadFor(d time.Duration) bool {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return true
	}
	deadline := false
	err = rc.Read(func(fd uintptr) bool {
		if readable(fd) {
			return true
		}
		// Nothing there yet: wait, for d at most. Output that keeps
		// coming is there already, and sets no deadline.
		if !deadline {
			deadline = true
			s.f.SetReadDeadline(time.Now().Add(d))
		}
		return false
	})
	if deadline {
		s.f.SetReadDeadline(time.Time{})
	}
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// readable reports whether a read of fd would not block. On an error, the
// read will tell.
func readable(fd uintptr) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return n != 0 || err != nil
}

// hungUp reports whether nothing but the reader holds the stream any more:
// every writer has closed it, or it was closed. What is left in it can then
// be read to EOF, however late.
func (s *stream) hungUp() bool {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return true
	}
	hup := false
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			hup = fds[0].Revents&unix.POLLHUP != 0
		}
	})
	return hup
}
