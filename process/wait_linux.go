package process

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchExit has p reaped once the child exits, by the exitWatcher. The
// child is reaped by this package alone: os/exec's handle on it (a pidfd,
// one descriptor more for every session) is released at once.
func (p *Process) watchExit() {
	p.proc.Release()
	exits.add(p)
}

// reapLeader reaps the child, which has exited: the exitWatcher left it
// unreaped, so that its pid, the id of its process group, could be given
// to no other process while the group might still be signalled.
func (p *Process) reapLeader() {
	var ws unix.WaitStatus
	_, err := unix.Wait4(p.pid, &ws, 0, nil)
	for err == unix.EINTR {
		_, err = unix.Wait4(p.pid, &ws, 0, nil)
	}
}

// exits is the process's one exitWatcher.
var exits exitWatcher

// exitWatcher learns how the children of this package exit. On each
// SIGCHLD it asks the kernel which child has exited, without reaping it,
// and hands how it exited to the child's Process if it is one of its own;
// children started otherwise (CGI programs, through os/exec) are left to
// whoever waits for them. However many children run, one parked goroutine
// waits for all of them, and a child costs no descriptor, goroutine or
// thread for it.
//
// A child is reaped once its process group has been killed for the last
// time (Process.release). Until then it stays a zombie, which keeps its pid
// from being given to another process that a signal to the group would
// reach. Most children are reaped as soon as they exit: those whose output
// streams nothing else holds.
type exitWatcher struct {
	once sync.Once
	sigs chan os.Signal // SIGCHLD, or a nudge to look

	mu      sync.Mutex
	running map[int]*Process // by pid
}

// add has p reaped once its child exits.
func (w *exitWatcher) add(p *Process) {
	w.once.Do(w.start)
	w.mu.Lock()
	w.running[p.pid] = p
	w.mu.Unlock()
	// The child may have exited before it was added: look again.
	select {
	case w.sigs <- syscall.SIGCHLD:
	default:
	}
}

func (w *exitWatcher) start() {
	w.running = make(map[int]*Process)
	w.sigs = make(chan os.Signal, 1)
	signal.Notify(w.sigs, syscall.SIGCHLD)
	go w.run()
}

// run reaps each child that exits, for as long as the process runs.
func (w *exitWatcher) run() {
	for range w.sigs {
		w.reapExited()
	}
}

// reapExited hands how they exited to the children of this package that
// have exited, and reaps those it can. Signals merge, so one SIGCHLD may
// stand for many exits.
func (w *exitWatcher) reapExited() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		pid, ws := exitedChild(unix.P_ALL, 0)
		if pid == 0 {
			return
		}
		if !w.exited(pid, ws) {
			// Another's child, or one of ours that is kept for its
			// group, hides the others that exited: ask after each.
			for pid := range w.running {
				if got, ws := exitedChild(unix.P_PID, pid); got == pid {
					w.exited(pid, ws)
				}
			}
			return
		}
	}
}

// exited hands the exit of child pid, with wait status ws, to its Process
// if it is one of this package's, and reports whether it was. A child whose
// output streams nothing else holds is reaped at once; the others, once
// the drain time is over.
func (w *exitWatcher) exited(pid int, ws syscall.WaitStatus) bool {
	p := w.running[pid]
	if p == nil {
		return false
	}
	delete(w.running, pid)
	if p.stdout.hungUp() && p.stderr.hungUp() {
		p.release()
	}
	go p.reap(exitError(ws))
	return true
}

// exitedChild returns the pid and wait status of a child of the process
// that has exited, leaving it unreaped, or 0 if there is none: any child
// for P_ALL, child id for P_PID.
func exitedChild(idtype, id int) (int, syscall.WaitStatus) {
	var info unix.Siginfo
	err := unix.Waitid(idtype, id, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	for err == unix.EINTR {
		err = unix.Waitid(idtype, id, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	}
	if err != nil {
		return 0, 0
	}
	fields := unsafe.Add(unsafe.Pointer(&info), siginfoPidOffset)
	pid := *(*int32)(fields)
	status := *(*int32)(unsafe.Add(fields, siginfoStatusOffset))
	return int(pid), waitStatus(info.Code, status)
}

// waitStatus encodes, as wait4 would, the exit that waitid reports with
// si_code code and si_status status.
func waitStatus(code, status int32) syscall.WaitStatus {
	switch code {
	case cldExited:
		return syscall.WaitStatus(status&0xff) << 8
	case cldDumped:
		return syscall.WaitStatus(status) | 0x80
	}
	return syscall.WaitStatus(status)
}

// The si_code values of a child that exited (asm-generic/siginfo.h); a
// child killed by a signal has CLD_KILLED, 2.
const (
	cldExited = 1
	cldDumped = 3
)

// siginfoPidOffset is where a siginfo_t holds si_pid: after three ints, at
// the first address aligned for a pointer. si_status follows si_pid and
// si_uid.
const (
	siginfoPidOffset    = (3*4 + unsafe.Sizeof(uintptr(0)) - 1) &^ (unsafe.Sizeof(uintptr(0)) - 1)
	siginfoStatusOffset = 2 * 4
)
