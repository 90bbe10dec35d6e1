package process

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// startChild starts cmd with a parent-death signal: should the server die,
// even by SIGKILL, the kernel kills the child at once. Linux sends that
// signal when the thread that forked the child ends, not the process, and
// Go ends a thread whenever a goroutine exits locked to it; so every child
// is forked from threads kept for that, which live as long as the process:
// one for each CPU Go runs on, as a thread waits for its child to exec.
// The child inherits no descriptor but its stdin, stdout and stderr. It
// returns the child's pid; os/exec's handle on it is released.
func startChild(cmd *exec.Cmd) (pid int, err error) {
	if err := closeInheritedOnExec(); err != nil {
		return 0, err
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	forks.once.Do(forks.start)
	req := forkRequest{cmd: cmd, done: make(chan forkResult, 1)}
	exits.starting.RLock()
	defer exits.starting.RUnlock()
	forks.reqs <- req
	res := <-req.done
	if res.err != nil {
		return 0, res.err
	}
	// Its exit is for its Process to see, even before it has one.
	exits.keep(res.pid)
	return res.pid, nil
}

// forks are the process's threads for starting children.
var forks forkThreads

// forkThreads start children from OS threads that never end.
type forkThreads struct {
	once sync.Once
	reqs chan forkRequest
}

// forkRequest is a child to start, and where to say how that went.
type forkRequest struct {
	cmd  *exec.Cmd
	done chan forkResult
}

// forkResult is the pid of the child started, or why it could not be.
type forkResult struct {
	pid int
	err error
}

func (f *forkThreads) start() {
	f.reqs = make(chan forkRequest)
	for range runtime.GOMAXPROCS(0) {
		go f.run(true, nil)
	}
}

// run starts the children asked for, on a thread it keeps to itself and
// never lets go of, with a table of descriptors of its own (forkTable)
// when ownTable is set and the system allows; locked, if not nil, is
// closed once it has the thread. os/exec's handle on each child is
// released there, where it was opened.
func (f *forkThreads) run(ownTable bool, locked chan<- struct{}) {
	runtime.LockOSThread()
	if locked != nil {
		close(locked)
	}
	var t *forkTable
	if ownTable {
		if unix.Gettid() == unix.Getpid() {
			// The main thread keeps the process's table: another
			// thread takes its place, which cannot be this one while
			// it is held, and then it is let go.
			placed := make(chan struct{})
			go f.run(true, placed)
			<-placed
			runtime.UnlockOSThread()
			return
		}
		var left bool
		if t, left = newForkTable(); t == nil && left {
			// The thread cannot start children: it ends with this
			// goroutine, which is still locked to it, before any.
			go f.run(false, nil)
			return
		}
	}
	for req := range f.reqs {
		var res forkResult
		if t != nil {
			res.pid, res.err = t.start(req.cmd)
		} else if res.err = req.cmd.Start(); res.err == nil {
			res.pid = req.cmd.Process.Pid
			req.cmd.Process.Release()
		}
		req.done <- res
	}
}
