package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// A Guardian sees to it that no program this package started outlives the
// server, however the server ends: even SIGKILL or the OOM killer, which
// leave it no chance to stop its programs. The guardian is a small process
// of its own (see Start and Guard) to which the server writes, through a
// pipe that only the server holds, the process group of each program when
// it starts and again when it is let go (once it is killed a last time,
// before its id can be reused). When the pipe ends, the server is gone or
// is done: the guardian kills every group still registered and exits. A
// pipe keeps what is written in order, so whatever the server wrote before
// it died is read before the end.
//
// A session never waits long for the guardian: each record is a few bytes
// written at once, and a guardian that has not read them within a second,
// or is gone, is dismissed (killed, so that it never acts on groups it may
// not have been told were let go). Programs then start unguarded. The zero
// value guards nothing until Start; neither does a nil *Guardian. Its
// methods are safe for concurrent use.
type Guardian struct {
	cmd    *exec.Cmd     // the guardian, once started
	lost   func(error)   // told why, should it end before Close
	exited chan struct{} // closed once the guardian is reaped
	err    error         // how it exited, once exited is closed

	mu      sync.Mutex
	w       *os.File // the server's end of the pipe, until the guardian is reaped
	buf     []byte   // the record being written
	ended   bool     // nothing more is written: closed, dismissed or gone
	closing bool     // Close was called
	why     error    // why it was dismissed
}

// guardianPatience bounds how long a write to the guardian may wait for it
// to read; guardianExit, how long Close waits for it to exit.
const (
	guardianPatience = time.Second
	guardianExit     = 5 * time.Second
)

// register tells the guardian that the process group pgid is to be killed
// should the server die.
func (g *Guardian) register(pgid int) { g.send('+', pgid) }

// unregister tells the guardian that the process group pgid was let go:
// its id may be another's from now on.
func (g *Guardian) unregister(pgid int) { g.send('-', pgid) }

// send writes one record, op and pgid on a line, to the guardian. If it
// cannot, the guardian is dismissed.
func (g *Guardian) send(op byte, pgid int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil || g.ended {
		return
	}
	g.buf = append(strconv.AppendInt(append(g.buf[:0], op), int64(pgid), 10), '\n')
	// A record is shorter than PIPE_BUF: it is written whole or not at
	// all, and waits only while the pipe is full.
	g.w.SetWriteDeadline(time.Now().Add(guardianPatience))
	if _, err := g.w.Write(g.buf); err != nil {
		g.dismiss(fmt.Errorf("writing to the guardian: %w", err))
	}
}

// dismiss kills the guardian, which may have missed a record, so that it
// acts on none; g.mu must be held. The pipe stays open until the guardian
// is reaped, so that it cannot read its end first.
func (g *Guardian) dismiss(why error) {
	g.ended, g.why = true, why
	g.cmd.Process.Kill()
}

// wait reaps the guardian once it exits and tells lost why, if it was
// dismissed or exited before Close.
func (g *Guardian) wait() {
	err := g.cmd.Wait()
	g.mu.Lock()
	g.ended = true
	if g.w != nil {
		g.w.Close()
		g.w = nil
	}
	closing, why := g.closing, g.why
	g.mu.Unlock()
	g.err = err
	close(g.exited)
	switch {
	case g.lost == nil || closing && why == nil:
		return
	case why == nil && err == nil:
		why = errors.New("the guardian exited")
	case why == nil:
		why = fmt.Errorf("the guardian exited: %w", err)
	}
	g.lost(why)
}

// Close tells the guardian that the server is done, which has it kill the
// process groups still registered, if any, and exit; Close reaps it and
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
	if g.w != nil && g.why == nil {
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
