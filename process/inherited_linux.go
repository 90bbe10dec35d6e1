package process

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// inherited marks, once, the descriptors the process inherited
// close-on-exec.
var inherited struct {
	once sync.Once
	err  error
}

// closeInheritedOnExec has every descriptor above stderr closed on exec,
// once, before the first child starts, so that a child gets its stdin,
// stdout and stderr and nothing else, whatever the server was started
// with. Go opens its own descriptors close-on-exec; those it inherited
// without (a wrapper's fd 7, say) would otherwise reach every child. It
// returns what kept it from doing so, each time it is called.
func closeInheritedOnExec() error {
	inherited.once.Do(func() { inherited.err = closeOnExecFrom(3) })
	return inherited.err
}

// closeOnExecFrom marks close-on-exec every descriptor of the process from
// first on: in one system call, or (before Linux 5.11) one by one, as
// /proc lists them.
func closeOnExecFrom(first int) error {
	if unix.CloseRange(uint(first), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	return closeOnExecListed(first)
}

// closeOnExecListed marks close-on-exec, one by one, the descriptors from
// first on that /proc/self/fd lists. One closed since it was listed, or
// opened by Go in the meantime, close-on-exec already, takes no harm.
func closeOnExecListed(first int) error {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("closing inherited descriptors on exec: %w", err)
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < first {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return fmt.Errorf("closing inherited descriptor %d on exec: %w", fd, err)
		}
	}
	return nil
}
