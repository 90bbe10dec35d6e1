package process

import (
	"os"

	"golang.org/x/sys/unix"
)

// openPipe opens a pipe for one of the child's standard streams and
// returns its two ends: the parent's, non-blocking for the network poller
// to wait on, and the child's, blocking as a program expects its streams,
// which the poller never sees. parentReads says which end is the parent's.
// os.Pipe would make both ends non-blocking and register both with the
// poller, and starting the child would turn its end back to blocking: six
// fcntl and three epoll_ctl calls per pipe where this needs three and one.
func openPipe(parentReads bool) (parent, child *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	p, c := fds[1], fds[0]
	if parentReads {
		p, c = fds[0], fds[1]
	}
	// A new pipe's end has no status flag set but its access mode, which
	// F_SETFL keeps: setting O_NONBLOCK alone needs no F_GETFL first. It
	// is set before os.NewFile, which then hands the end to the poller.
	if _, err := unix.FcntlInt(uintptr(p), unix.F_SETFL, unix.O_NONBLOCK); err != nil {
		unix.Close(p)
		unix.Close(c)
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(p), pipeName(p, fds)), os.NewFile(uintptr(c), pipeName(c, fds)), nil
}

// pipeName names the end fd of the pipe fds as os.Pipe does.
func pipeName(fd int, fds [2]int) string {
	if fd == fds[0] {
		return "|0"
	}
	return "|1"
}
