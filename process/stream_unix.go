//go:build unix

package process

import (
	"errors"
	"io"
	"os"
	"syscall"
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

// ReadFor reads the stream as Read does once there is something to read,
// or the stream has ended, waiting at most d for that; when nothing came
// it returns os.ErrDeadlineExceeded, having read nothing. Each attempt
// reads into a buffer from get, and one that read nothing goes back
// through put: a reader that waits so holds no buffer meanwhile. The
// buffer of a read that returns n > 0 is the caller's.
//
// Whether there is something to read and what it is are learnt from one
// system call, the read itself.
func (s *stream) ReadFor(d time.Duration, get func() []byte, put func([]byte)) (int, error) {
	r := &s.raw
	if r.rc == nil {
		b := get()
		n, err := s.Read(b)
		if n <= 0 {
			put(b)
		}
		return n, err
	}
	r.get, r.put, r.wait, r.waiting = get, put, d, false
	err := r.rc.Read(r.read)
	if r.waiting {
		s.f.SetReadDeadline(time.Time{})
	}
	n, rerr := r.n, r.err
	r.get, r.put, r.n, r.err = nil, nil, 0, nil
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, err
	case err != nil:
		// The stream was closed under the read: besides the deadline,
		// that is all that stops it on a descriptor the poller waits
		// for.
		err = os.ErrClosed
	default:
		err = rerr
	}
	return s.result(n, err)
}

// rawRead is how ReadFor reads a stream's descriptor: what a call is given
// and what its read found, and the function that reads, made once.
type rawRead struct {
	s       *stream
	rc      syscall.RawConn // nil where the descriptor cannot be read so
	read    func(fd uintptr) bool
	get     func() []byte
	put     func([]byte)
	wait    time.Duration
	waiting bool // the deadline is set
	n       int
	err     error
}

func (r *rawRead) init(s *stream) {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return
	}
	r.s, r.rc, r.read = s, rc, r.readDescriptor
}

// readDescriptor reads fd into a buffer from get, and reports false, for
// the poller to wait, when there is nothing to read yet.
func (r *rawRead) readDescriptor(fd uintptr) bool {
	b := r.get()
	n, err := syscall.Read(int(fd), b)
	for err == syscall.EINTR {
		n, err = syscall.Read(int(fd), b)
	}
	if err == syscall.EAGAIN {
		r.put(b)
		if !r.waiting {
			// Output that keeps coming is there already, and sets
			// no deadline.
			r.waiting = true
			r.s.f.SetReadDeadline(time.Now().Add(r.wait))
		}
		return false
	}
	switch {
	case err != nil:
		r.err = &os.PathError{Op: "read", Path: r.s.f.Name(), Err: err}
	case n == 0:
		r.err = io.EOF
	}
	if n <= 0 {
		r.put(b)
		n = 0
	}
	r.n = n
	return true
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
