package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// A Guardian sees to it that no program this package started outlives the
// server, however the server ends: even SIGKILL or the OOM killer, which
// leave it no chance to stop its programs. The guardian is a small process
// of its own (see Start and Guard) that shares a table of process groups
// with the server and holds the read end of a pipe whose write end only the
// server holds. The server marks the group of each program in the table
// when it starts and clears it when the group is let go (once it is
// killed a last time, before its id can be reused): a store to memory,
// with no system call, no wait and nothing for the guardian to do. When
// the pipe ends, the server is gone or is done: the guardian kills every
// group the table still marks and exits. Whatever the server stored
// before it died is in the table when the guardian reads it.
//
// Should the guardian end before Close, the programs are no longer
// guarded. The zero value guards nothing until Start; neither does a nil
// *Guardian. Its methods are safe for concurrent use.
type Guardian struct {
	table  atomic.Pointer[groupTable] // shared with the guardian, once started
	cmd    *exec.Cmd                  // the guardian, once started
	lost   func(error)                // told why, should it end before Close
	exited chan struct{}              // closed once the guardian is reaped
	err    error                      // how it exited, once exited is closed

	mu      sync.Mutex
	w       *os.File // the server's end of the pipe, until Close or the guardian is reaped
	ended   bool     // Close was called or the guardian is gone
	closing bool     // Close was called
}

// guardianExit bounds how long Close waits for the guardian to exit.
const guardianExit = 5 * time.Second

// register marks the process group pgid in the table, for the guardian to
// kill should the server die.
func (g *Guardian) register(pgid int) {
	if g != nil {
		g.table.Load().mark(pgid, true)
	}
}

// unregister clears the process group pgid from the table: it was let
// go, and its id may be another's from now on.
func (g *Guardian) unregister(pgid int) {
	if g != nil {
		g.table.Load().mark(pgid, false)
	}
}

// wait reaps the guardian once it exits and tells lost why, if it exited
// before Close.
func (g *Guardian) wait() {
	err := g.cmd.Wait()
	g.mu.Lock()
	g.ended = true
	if g.w != nil {
		g.w.Close()
		g.w = nil
	}
	closing := g.closing
	g.mu.Unlock()
	g.err = err
	close(g.exited)
	switch {
	case g.lost == nil || closing:
		return
	case err == nil:
		g.lost(errors.New("the guardian exited"))
	default:
		g.lost(fmt.Errorf("the guardian exited: %w", err))
	}
}

// Close tells the guardian that the server is done, which has it kill the
// process groups still marked, if any, and exit; Close reaps it and
// returns how it exited, unless it was gone before. A guardian that has not
// exited within guardianExit is killed. Close does nothing on a
// Guardian that was never started.
func (g *Guardian) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	started, gone := g.cmd != nil, g.ended
	g.closing, g.ended = true, true
	if g.w != nil {
		g.w.Close()
		g.w = nil
	}
	g.mu.Unlock()
	if !started {
		return nil
	}
	t := time.NewTimer(guardianExit)
	defer t.Stop()
	select {
	case <-g.exited:
	case <-t.C:
		g.cmd.Process.Kill()
		<-g.exited
	}
	if g.err != nil && !gone {
		return fmt.Errorf("the guardian: %w", g.err)
	}
	return nil
}
