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
// one descriptor more for every session) was released as it started.
func (p *Process) watchExit() {
	exits.add(p)
}

// exits is the process's one exitWatcher.
var exits exitWatcher

// exitWatcher reaps the children of this package as they exit. On each
// SIGCHLD it asks the kernel which child has exited, without reaping it,
// and reaps it if it is one of its own; children started otherwise are
// left to whoever waits for them, unless the process is PID 1 or a child
// subreaper: then every process orphaned below it becomes its child, and
// the watcher reaps those too, leaving only the children kept for another
// (the guardian, which os/exec waits for). However many children run, one
// parked goroutine waits for all of them, and a child costs no
// descriptor, goroutine or thread for it.
//
// A child whose output streams nothing else holds any more has its
// process group killed a last time before it is reaped, while its pid,
// the group's id, is still its own (Process.release).
type exitWatcher struct {
	once sync.Once
	sigs chan os.Signal // SIGCHLD, or a nudge to look

	// starting is held for reading from before a child of this package
	// is forked until it is kept, and for writing while orphans are
	// reaped: a child that exits before its pid is known is never taken
	// for an orphan.
	starting sync.RWMutex

	mu      sync.Mutex
	running map[int]*Process // by pid; nil for a child kept, not to reap
}

// keep has the watcher leave the child pid unreaped, should it exit,
// until add gives its Process or forget lets go of it. It is called with
// starting held for reading, once the child is started.
func (w *exitWatcher) keep(pid int) {
	w.once.Do(w.start)
	w.mu.Lock()
	w.running[pid] = nil
	w.mu.Unlock()
}

// forget lets go of the child pid, kept and reaped by another since.
func (w *exitWatcher) forget(pid int) {
	w.mu.Lock()
	delete(w.running, pid)
	w.mu.Unlock()
	// It may have hidden orphans that exited: look again.
	w.nudge()
}

// add has p reaped once its child exits.
func (w *exitWatcher) add(p *Process) {
	w.once.Do(w.start)
	w.mu.Lock()
	w.running[p.pid] = p
	w.mu.Unlock()
	// The child may have exited, and been left, before it was added:
	// then look again. Asking after it alone is cheaper than waking the
	// watcher for every child.
	if exitedChild(unix.P_PID, p.pid) == p.pid {
		w.nudge()
	}
}

// nudge has the watcher look for exited children, as on SIGCHLD.
func (w *exitWatcher) nudge() {
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

// reapExited reaps every child of this package that has exited, and
// hands how it exited to its Process, and, where the process adopts
// orphans, every other child that has exited and is not kept. Signals
// merge, so one SIGCHLD may stand for many exits.
func (w *exitWatcher) reapExited() {
	orphans := adoptsOrphans()
	if orphans {
		w.starting.Lock()
		defer w.starting.Unlock()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		pid := exitedChild(unix.P_ALL, 0)
		if pid == 0 {
			return
		}
		p, known := w.running[pid]
		if p != nil && w.reap(pid, p) {
			continue
		}
		if !known && orphans && reapOrphan(pid) {
			continue
		}
		// Another's child, not reaped yet, hides the others that
		// exited: ask after each of ours.
		for pid, p := range w.running {
			if p != nil && exitedChild(unix.P_PID, pid) == pid {
				w.reap(pid, p)
			}
		}
		return
	}
}

// reap reaps the child pid of p, which has exited, and reports whether it
// did.
func (w *exitWatcher) reap(pid int, p *Process) bool {
	drained := p.stdout.hungUp() && p.stderr.hungUp()
	if drained {
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
	if drained {
		// Nothing is left to wait for: no goroutine for it.
		p.reap(exitError(syscall.WaitStatus(ws)), true)
	} else {
		go p.reap(exitError(syscall.WaitStatus(ws)), false)
	}
	return true
}

// reapOrphan reaps pid, an adopted orphan that has exited, for which no
// one waits, and reports whether it did.
func reapOrphan(pid int) bool {
	got, err := unix.Wait4(pid, nil, unix.WNOHANG, nil)
	for err == unix.EINTR {
		got, err = unix.Wait4(pid, nil, unix.WNOHANG, nil)
	}
	return got == pid
}

// adoptsOrphans reports whether the processes orphaned below this one
// become its children, to reap: when it is PID 1, of the system or of a
// PID namespace (a container without an init), or a child subreaper.
func adoptsOrphans() bool {
	if os.Getpid() == 1 {
		return true
	}
	var subreaper int32
	err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&subreaper)), 0, 0, 0)
	return err == nil && subreaper != 0
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
