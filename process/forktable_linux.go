package process

import (
	"errors"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// A forkTable is a thread's own table of descriptors, which the children
// forked from the thread copy instead of the process's.
//
// Forking copies the forking thread's table of descriptors into the
// child, and the child's exec then closes every one of them but its
// stdin, stdout and stderr: both take as long as the server has
// descriptors open, so a program started while thousands of sessions
// run costs the server and the program far more than one started alone
// (in a reconnect storm, most of a program's start). A fork thread
// leaves the process's table for one of its own (unshare(CLONE_FILES)),
// keeps there only what the Go runtime itself may use on any thread, and
// copies in each child's three streams (pidfd_getfd) just to start it.
//
// The thread may run nothing else: a descriptor the process opens later
// is not in its table, and one it has by a number may be another. Only
// what the fork thread does runs there, and the runtime creates the
// threads a locked thread asks for from a thread of its own.
type forkTable struct {
	self int // a pidfd of the process, in the thread's table
}

// newForkTable gives the calling thread, locked to its goroutine and not
// the main thread, a table of its own. It returns nil when it cannot, and
// then reports whether the thread left the process's table all the same:
// such a thread may start no child, and is to be ended. A thread that
// never left it forks as any other. The main thread keeps the process's
// table, which is the one /proc/PID and pidfd_getfd see.
func newForkTable() (t *forkTable, left bool) {
	// Try pidfd_getfd before the table is left (Linux 5.6, and a
	// seccomp filter may refuse it).
	self, err := unix.PidfdOpen(unix.Getpid(), 0)
	if err != nil {
		return nil, false
	}
	fd, err := unix.PidfdGetfd(self, self, 0)
	unix.Close(self)
	if err != nil {
		return nil, false
	}
	unix.Close(fd)
	// The runtime's own descriptors are kept by what they are: the
	// network poller must have them before the table is left, and a
	// pollable descriptor has it start.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, false
	}
	r.Close()
	w.Close()
	if unix.Unshare(unix.CLONE_FILES) != nil {
		return nil, false
	}
	if self, err = unix.PidfdOpen(unix.Getpid(), 0); err != nil {
		return nil, true
	}
	t = &forkTable{self: self}
	if t.keepOnlyRuntime() != nil {
		return nil, true
	}
	return t, true
}

// keepOnlyRuntime closes every descriptor of the thread's table from 3 on
// but t.self and those the Go runtime may use from any thread: its epoll
// instance and the eventfd that wakes it. Stdin, stdout and stderr stay,
// for what the runtime prints.
func (t *forkTable) keepOnlyRuntime() error {
	ents, err := os.ReadDir("/proc/thread-self/fd")
	if err != nil {
		return err
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 || fd == t.self {
			continue
		}
		link, err := os.Readlink("/proc/thread-self/fd/" + e.Name())
		if err != nil {
			// The directory read itself, closed by now.
			continue
		}
		if link == "anon_inode:[eventpoll]" || link == "anon_inode:[eventfd]" {
			continue
		}
		unix.Close(fd)
	}
	return nil
}

// start starts cmd with copies of its stdin, stdout and stderr in t, and
// returns the child's pid, os/exec's handle on it released.
func (t *forkTable) start(cmd *exec.Cmd) (int, error) {
	var orig [3]*os.File
	for i, s := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		f, ok := s.(*os.File)
		if !ok {
			return 0, errors.New("starting a child: a stream is not a file")
		}
		orig[i] = f
	}
	var copies [3]*os.File
	defer func() {
		for _, c := range copies {
			if c != nil {
				c.Close()
			}
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = orig[0], orig[1], orig[2]
	}()
	for i, f := range orig {
		c, err := t.copy(f)
		if err != nil {
			return 0, err
		}
		copies[i] = c
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = copies[0], copies[1], copies[2]
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return pid, nil
}

// copy returns a copy of f, a descriptor of the process's table, in t.
func (t *forkTable) copy(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	cerr := rc.Control(func(pfd uintptr) {
		fd, err = unix.PidfdGetfd(t.self, int(pfd), 0)
	})
	if cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, os.NewSyscallError("pidfd_getfd", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
