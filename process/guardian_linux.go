package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
)

// Start starts the guardian: this very program again, through
// /proc/self/exe, with args as its whole command line (argv[0] included),
// which must make it call Guard. It runs in a process group of its own, so
// that what is sent to the server's group does not reach it. If it ends,
// or is dismissed, before Close, lost (when not nil) is called once, in a
// goroutine of its own, with the reason: the programs started from then on
// are not guarded. Start may be called once.
func (g *Guardian) Start(args []string, lost func(error)) error {
	// The guardian's exit is os/exec's to wait for: it is kept from the
	// exit watcher, which reaps adopted orphans.
	exits.starting.RLock()
	defer exits.starting.RUnlock()
	if err := g.start(args, lost); err != nil {
		return err
	}
	pid := g.cmd.Process.Pid
	exits.keep(pid)
	go func() {
		g.wait()
		exits.forget(pid)
	}()
	return nil
}

// start starts the guardian for Start.
func (g *Guardian) start(args []string, lost func(error)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil || g.ended {
		return errors.New("starting the guardian: started before")
	}
	if err := closeInheritedOnExec(); err != nil {
		return fmt.Errorf("starting the guardian: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("starting the guardian: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        args,
		Stdin:       r,
		Dir:         "/", // so as to hold no directory in use
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("starting the guardian: %w", err)
	}
	g.cmd, g.lost, g.w = cmd, lost, w
	g.exited = make(chan struct{})
	return nil
}

// Guard is the guardian's whole work, for the process Start started to
// call: it reads what the server registers and unregisters from r, its
// standard input, until r ends, then kills every process group still
// registered. It ignores SIGHUP, SIGINT, SIGTERM and SIGPIPE, so that
// only the end of r, or SIGKILL, ends it.
func Guard(r io.Reader) {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	groups := make(map[int]bool)
	in := bufio.NewScanner(r)
	for in.Scan() {
		line := in.Bytes()
		if len(line) < 2 {
			continue
		}
		// Group ids 0 and 1 would be this process's group and every
		// process: never signalled.
		pgid, err := strconv.Atoi(string(line[1:]))
		if err != nil || pgid < 2 {
			continue
		}
		switch line[0] {
		case '+':
			groups[pgid] = true
		case '-':
			delete(groups, pgid)
		}
	}
	for pgid := range groups {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
