package process

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Start starts the guardian: this very program again, through
// /proc/self/exe, with args as its whole command line (argv[0] included),
// which must make it call Guard. It runs in a process group of its own, so
// that what is sent to the server's group does not reach it. If it ends
// before Close, lost (when not nil) is called once, in a
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
	table, err := newGroupTable()
	if err != nil {
		return fmt.Errorf("starting the guardian: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		table.f.Close()
		return fmt.Errorf("starting the guardian: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        args,
		Stdin:       r,
		ExtraFiles:  []*os.File{table.f}, // its descriptor 3
		Dir:         "/",                 // so as to hold no directory in use
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	r.Close()
	// The server writes the table through its mapping alone.
	table.f.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("starting the guardian: %w", err)
	}
	g.cmd, g.lost, g.w = cmd, lost, w
	g.table.Store(table)
	g.exited = make(chan struct{})
	return nil
}

// Guard is the guardian's whole work, for the process Start started to
// call: it waits for its standard input, the pipe from the server, to end,
// then kills every process group marked in the table it was given as
// descriptor 3. It ignores SIGHUP, SIGINT, SIGTERM and SIGPIPE, so that
// only the end of the pipe, or SIGKILL, ends it.
func Guard() {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	io.Copy(io.Discard, os.Stdin)
	groups, err := markedGroups(os.NewFile(3, "groups"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "wsbridge: guardian: %v\n", err)
	}
	for _, pgid := range groups {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
