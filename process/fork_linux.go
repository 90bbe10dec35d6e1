package process

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startChild starts cmd with a parent-death signal: should the server die,
// even by SIGKILL, the kernel kills the child at once. Linux sends that
// signal when the thread that forked the child ends, not the process, and
// Go ends a thread whenever a goroutine exits locked to it; so every child
// is forked from threads kept for that, which live as long as the process:
// one for each CPU Go runs on, as a thread waits for its child to exec.
// The child inherits no descriptor but its stdin, stdout and stderr.
func startChild(cmd *exec.Cmd) error {
	if err := closeInheritedOnExec(); err != nil {
		return err
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	forks.once.Do(forks.start)
	req := forkRequest{cmd: cmd, done: make(chan error, 1)}
	exits.starting.RLock()
	defer exits.starting.RUnlock()
	forks.reqs <- req
	if err := <-req.done; err != nil {
		return err
	}
	// Its exit is for its Process to see, even before it has one.
	exits.keep(cmd.Process.Pid)
	return nil
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
	done chan error
}

func (f *forkThreads) start() {
	f.reqs = make(chan forkRequest)
	for range runtime.GOMAXPROCS(0) {
		go f.run()
	}
}

// run starts the children asked for, on a thread it keeps to itself and
// never lets go of.
func (f *forkThreads) run() {
	runtime.LockOSThread()
	for req := range f.reqs {
		req.done <- req.cmd.Start()
	}
}
