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

// exits is the process's one exitWatcher.
var exits exitWatcher

// exitWatcher reaps the children of this package as they exit. On each
// SIGCHLD it asks the kernel which child has exited, without reaping it,
// and reaps it if it is one of its own; children started otherwise (CGI
// programs, through os/exec) are left to whoever waits for them. However
// many children run, one parked goroutine waits for all of them, and a
// child costs no descriptor, goroutine or thread for it.
//
// A child whose output streams nothing else holds any more has its
// process group killed a last time before it is reaped, while its pid,
// the group's id, is still its own (Process.release).
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

// reapExited reaps every child of this package that has exited and hands
// how it exited to its Process. Signals merge, so one SIGCHLD may stand
// for many exits.
func (w *exitWatcher) reapExited() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		pid := exitedChild(unix.P_ALL, 0)
		if pid == 0 {
			return
		}
		if !w.reap(pid) {
			// Another's child, not reaped yet, hides the others that
			// exited: ask after each of ours.
			for pid := range w.running {
				if exitedChild(unix.P_PID, pid) == pid {
					w.reap(pid)
				}
			}
			return
		}
	}
}

// reap reaps the child pid, which has exited, if it is one of this
// package's, and reports whether it did.
func (w *exitWatcher) reap(pid int) bool {
	p := w.running[pid]
	if p == nil {
		return false
	}
	if p.stdout.hungUp() && p.stderr.hungUp() {
		p.release()
	}
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	for err == unix.EINTR {
		got, err = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
	if got != pid {
		return false
	}
	delete(w.running, pid)
	go p.reap(exitError(syscall.WaitStatus(ws)))
	return true
}

// exitedChild returns the pid of a child of the process that has exited
// and is waiting to be reaped, leaving it so, or 0 if there is none: any
// child for P_ALL, the child id for P_PID.
func exitedChild(idtype, id int) int {
	var info unix.Siginfo
	err := unix.Waitid(idtype, id, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	for err == unix.EINTR {
		err = unix.Waitid(idtype, id, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	}
	if err != nil {
		return 0
	}
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(&info), siginfoPidOffset)))
}

// siginfoPidOffset is where a siginfo_t holds si_pid: after three ints, at
// the first address aligned for a pointer.
const siginfoPidOffset = (3*4 + unsafe.Sizeof(uintptr(0)) - 1) &^ (unsafe.Sizeof(uintptr(0)) - 1)
