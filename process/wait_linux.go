package process

import (
	"os"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// askPidFD has the child's pidfd stored in *pidfd when it starts, or -1
// where the kernel has none.
func askPidFD(attr *syscall.SysProcAttr, pidfd *int) {
	*pidfd = -1
	attr.PidFD = pidfd
}

// watchExit has p reaped once the child exits. The child is reaped by p
// alone: os/exec's own pidfd for it, one descriptor more for every
// session, is closed at once. Children with a pidfd are waited for all
// together by one goroutine (see exitWatcher); without one, a goroutine
// waits for each, which holds a thread as long as the child runs.
func (p *Process) watchExit() {
	p.proc.Release()
	if p.pidfd < 0 || exits.add(p) != nil {
		go p.reap()
	}
}

// waitExit reaps the child, waiting for it to exit if it has not yet, and
// returns how it exited.
func (p *Process) waitExit() error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
	}
	return exitError(syscall.WaitStatus(ws))
}

// exits is the process's one exitWatcher.
var exits exitWatcher

// exitWatcher watches the pidfds of running children in an epoll instance
// of its own, which the network poller waits on: however many children
// run, their exits are waited for by one goroutine, parked, and a child
// costs no goroutine and no thread until it exits.
type exitWatcher struct {
	once sync.Once
	ep   int   // the epoll instance
	err  error // why there is none

	mu      sync.Mutex
	running map[int32]*Process // by pidfd
}

// add has p reaped once its child exits.
func (w *exitWatcher) add(p *Process) error {
	w.once.Do(w.start)
	if w.err != nil {
		return w.err
	}
	w.mu.Lock()
	w.running[int32(p.pidfd)] = p
	w.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p.pidfd)}
	if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, p.pidfd, &ev); err != nil {
		w.mu.Lock()
		delete(w.running, int32(p.pidfd))
		w.mu.Unlock()
		return err
	}
	return nil
}

func (w *exitWatcher) start() {
	w.ep, w.err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if w.err != nil {
		return
	}
	if w.err = unix.SetNonblock(w.ep, true); w.err != nil {
		unix.Close(w.ep)
		return
	}
	f := os.NewFile(uintptr(w.ep), "exits")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		w.err = err
		return
	}
	w.running = make(map[int32]*Process)
	go w.run(rc)
}

// run reaps each child that exits, for as long as the process runs.
func (w *exitWatcher) run(rc syscall.RawConn) {
	events := make([]unix.EpollEvent, 64)
	for {
		var n int
		err := rc.Read(func(fd uintptr) bool {
			n, _ = unix.EpollWait(int(fd), events, 0)
			return n > 0
		})
		if err != nil {
			// The epoll instance is never closed: this cannot be.
			panic("process: waiting for children to exit: " + err.Error())
		}
		for _, ev := range events[:n] {
			unix.EpollCtl(w.ep, unix.EPOLL_CTL_DEL, int(ev.Fd), nil)
			w.mu.Lock()
			p := w.running[ev.Fd]
			delete(w.running, ev.Fd)
			w.mu.Unlock()
			if p != nil {
				go p.reap()
			}
		}
	}
}

// exitError is how a child ended: nil for status 0, else an error worded
// as *exec.ExitError words it ("exit status 3", "signal: killed").
func exitError(ws syscall.WaitStatus) error {
	var s string
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		s = "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		s = "signal: " + ws.Signal().String()
	default:
		s = "wait status " + strconv.Itoa(int(ws))
	}
	if ws.CoreDump() {
		s += " (core dumped)"
	}
	return exitStatusError(s)
}

// exitStatusError says how a child ended.
type exitStatusError string

func (e exitStatusError) Error() string { return string(e) }
