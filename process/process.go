// Package process runs one child program for one WebSocket session: it starts
// the child in its own process group with its stdout on a pseudo-terminal or a
// pipe, hands out its standard streams, stops it with a graceful sequence of
// signals, and reaps it; should the server die first, the child dies too,
// and a Guardian kills what is left in its group.
package process

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"wsbridge/process/readwatch"
)

// Config describes the child to start. The zero value is not usable: Path
// must be set.
type Config struct {
	// Path is the program to run, resolved as by exec.LookPath.
	Path string
	// Args holds the arguments after the program name.
	Args []string
	// Env is the child's whole environment; nil means an empty one.
	Env []string
	// Dir is the child's working directory; empty means the server's.
	Dir string
	// PTY puts the child's stdout on a pseudo-terminal in raw mode, so that
	// programs which buffer a piped stdout still write each line at once.
	// Stdin and stderr stay pipes. Ignored where pseudo-terminals are not
	// supported.
	PTY bool
	// Grace is added to each wait of the stop sequence (websocketd's
	// --closems).
	Grace time.Duration
	// Drain bounds how long, after the child exits, its stdout and stderr
	// may stay open (held by a background grandchild) before the child's
	// process group is killed. Zero means DefaultDrain.
	Drain time.Duration
	// Guardian, when not nil, kills the child's process group should the
	// server die before it let the group go.
	Guardian *Guardian
}

// DefaultDrain is the Drain used when Config.Drain is zero.
const DefaultDrain = 500 * time.Millisecond

// Process is a started child. Its streams are read and written by the
// caller; Wait and Stop may be called from any goroutine. Every descriptor
// is released by itself once the child is gone and its output streams have
// reached EOF.
type Process struct {
	onPTY  bool
	stdin  *os.File
	stdout *stream
	stderr *stream

	proc     *os.Process // os/exec's, where the child is waited for through it (not on Linux)
	pid      int
	grace    time.Duration
	drain    time.Duration
	guardian *Guardian

	done    chan struct{} // closed once the child is reaped
	waitErr error

	open    atomic.Int32  // output streams not yet at EOF
	closed  chan struct{} // closed once stdout and stderr reached EOF
	stopped sync.Once

	mu       sync.Mutex // held while the process group is signalled
	released bool       // the group was killed a last time: signal it no more
}

// Start starts the child described by cfg.
func Start(cfg Config) (*Process, error) {
	if cfg.Path == "" {
		return nil, errors.New("starting child: no program given")
	}
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = cfg.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = cfg.Dir
	cmd.SysProcAttr = sysProcAttr()

	var parentEnds, childEnds []*os.File
	closeAll := func(files []*os.File) {
		for _, f := range files {
			f.Close()
		}
	}
	fail := func(err error) (*Process, error) {
		closeAll(parentEnds)
		closeAll(childEnds)
		return nil, fmt.Errorf("starting %q: %w", cfg.Path, err)
	}

	stdinW, stdinR, err := openPipe(false)
	if err != nil {
		return fail(err)
	}
	parentEnds, childEnds = append(parentEnds, stdinW), append(childEnds, stdinR)

	var stdoutR, stdoutW *os.File
	onPTY := false
	if cfg.PTY && ptySupported {
		// When the system has no pseudo-terminal left, a pipe still
		// serves, if with the buffering the terminal avoids.
		stdoutR, stdoutW, err = openPTY()
		onPTY = err == nil
	}
	if !onPTY {
		stdoutR, stdoutW, err = openPipe(true)
	}
	if err != nil {
		return fail(err)
	}
	parentEnds, childEnds = append(parentEnds, stdoutR), append(childEnds, stdoutW)

	stderrR, stderrW, err := openPipe(true)
	if err != nil {
		return fail(err)
	}
	parentEnds, childEnds = append(parentEnds, stderrR), append(childEnds, stderrW)

	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
	pid, err := startChild(cmd)
	if err != nil {
		return fail(startError(cfg.Path, err))
	}
	closeAll(childEnds)
	cfg.Guardian.register(pid)

	drain := cfg.Drain
	if drain == 0 {
		drain = DefaultDrain
	}
	p := &Process{
		onPTY:    onPTY,
		stdin:    stdinW,
		proc:     cmd.Process,
		pid:      pid,
		grace:    cfg.Grace,
		drain:    drain,
		guardian: cfg.Guardian,
		done:     make(chan struct{}),
	}
	p.open.Store(2)
	p.closed = make(chan struct{})
	p.stdout = &stream{f: stdoutR, eof: p.streamEnded, watch: readwatch.New(stdoutR)}
	p.stderr = &stream{f: stderrR, eof: p.streamEnded, watch: readwatch.New(stderrR)}
	p.watchExit()
	return p, nil
}

// Stdin returns the child's standard input. Closing it sends EOF.
func (p *Process) Stdin() io.WriteCloser { return p.stdin }

// Stdout returns the child's standard output. It returns io.EOF once the
// child and everything that inherited the stream are gone.
func (p *Process) Stdout() io.Reader { return p.stdout }

// Stderr returns the child's standard error, with the same EOF rule.
func (p *Process) Stderr() io.Reader { return p.stderr }

// streamEnded counts an output stream out; the last one closes closed.
func (p *Process) streamEnded() {
	if p.open.Add(-1) == 0 {
		close(p.closed)
	}
}

// PTY reports whether the child's stdout is a pseudo-terminal. It is not
// when Config.PTY was false, where they are not supported, or when the
// system had none left.
func (p *Process) PTY() bool { return p.onPTY }

// Pid returns the child's process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Done returns a channel that is closed once the child has exited and been
// reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the child has exited and returns how it exited: nil for
// status 0, else an *ExitError ("exit status 3", "signal: killed").
func (p *Process) Wait() error {
	<-p.done
	return p.waitErr
}

// reap records how the child exited, then gives whatever still holds its
// output streams (a background grandchild) the drain time to finish
// before the child's process group is killed a last time, so that nothing
// it started is left behind. What the streams hold is kept for the reader,
// however slow; only streams that something outside the group still holds
// open are closed, a drain time after the kill. drained says that the
// streams were found so already: reap then waits for nothing.
func (p *Process) reap(exit error, drained bool) {
	p.waitErr = exit
	close(p.done)
	if !drained {
		drained = p.waitDrained()
	}
	p.release()
	if !drained && !p.waitDrained() {
		// Something that left the group (setsid) still holds the
		// streams: stop reading them.
		p.stdout.Close()
		p.stderr.Close()
	}
	p.stdin.Close()
}

// drainCheck is how often waitDrained looks at the streams.
const drainCheck = 10 * time.Millisecond

// waitDrained waits up to the drain time for nothing but the reader to
// hold stdout and stderr, and reports whether that came.
func (p *Process) waitDrained() bool {
	deadline := time.Now().Add(p.drain)
	for {
		if p.stdout.hungUp() && p.stderr.hungUp() {
			return true
		}
		wait := min(drainCheck, time.Until(deadline))
		if wait <= 0 {
			return false
		}
		t := time.NewTimer(wait)
		select {
		case <-p.closed:
			t.Stop()
			return true
		case <-t.C:
		}
	}
}

// Stop stops the child and everything in its process group, the way
// websocketd does: it closes stdin, then sends SIGINT, SIGTERM and SIGKILL
// to the group, waiting 100 ms, 250 ms and 500 ms (each plus Config.Grace)
// for the child to exit before each signal. It returns once the child is
// reaped. Stop is safe to call more than once and after the child exited.
func (p *Process) Stop() {
	p.stopped.Do(p.stop)
	<-p.done
}

func (p *Process) stop() {
	p.stdin.Close()
	for _, step := range stopSteps {
		t := time.NewTimer(step.wait + p.grace)
		select {
		case <-p.done:
			t.Stop()
			p.release()
			return
		case <-t.C:
		}
		p.signalGroup(step.sig)
	}
	<-p.done
	p.release()
}

// stream is one of the child's output streams. It reports the end of the
// stream as io.EOF, whether the last writer closed it, a pseudo-terminal
// reported its slave side gone, or the stream was closed under it.
type stream struct {
	f     *os.File
	eof   func()
	once  sync.Once
	watch *readwatch.Watch // where NotifyRead has the poller wait for it
}

func (s *stream) Read(b []byte) (int, error) {
	n, err := s.f.Read(b)
	if err != nil && n == 0 {
		if errors.Is(err, os.ErrClosed) || isPTYClosed(err) {
			err = io.EOF
		}
		s.once.Do(s.end)
	}
	return n, err
}

// Close closes the parent's end of the stream; reads then return io.EOF.
func (s *stream) Close() error {
	s.once.Do(s.end)
	return nil
}

func (s *stream) end() {
	s.watch.End()
	s.f.Close()
	s.eof()
}
