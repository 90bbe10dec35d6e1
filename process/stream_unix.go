//go:build unix

package process

import "golang.org/x/sys/unix"

// WaitRead blocks until a Read of the stream would not block: there is
// something to read, the stream has ended, or it was closed. A reader can
// so wait without holding a buffer. Where the stream cannot be waited on,
// it returns at once.
func (s *stream) WaitRead() {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		// The network poller reports new data, not data already there:
		// look first. On an error, Read will tell.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		return n != 0 || err != nil
	})
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
