//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// stallTimeout is how long a pipelined scenario waits for the server to
// send anything back before giving up, so that a server that deadlocks
// fails in seconds rather than at the scenario's deadline.
const stallTimeout = 10 * time.Second

// errStalled is the cause of the cancellation of a watchdog's context.
var errStalled = fmt.Errorf("stalled: nothing came back for %v", stallTimeout)

// A watchdog cancels its context when the progress reported to it stops
// for stallTimeout.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	ticks  atomic.Int64
	done   chan struct{}
}

// newWatchdog returns a watchdog whose context is derived from ctx. Its
// stop method must be called to release it.
func newWatchdog(ctx context.Context) *watchdog {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go w.watch()
	return w
}

// watch cancels w.ctx once w.ticks has not moved for stallTimeout.
func (w *watchdog) watch() {
	t := time.NewTicker(stallTimeout / 10)
	defer t.Stop()
	last, since := w.ticks.Load(), time.Now()
	for {
		select {
		case <-w.done:
			return
		case <-w.ctx.Done():
			return
		case now := <-t.C:
			if n := w.ticks.Load(); n != last {
				last, since = n, now
			} else if now.Sub(since) >= stallTimeout {
				w.cancel(errStalled)
				return
			}
		}
	}
}

// tick reports progress.
func (w *watchdog) tick() {
	w.ticks.Add(1)
}

// explain returns err, or the reason the watchdog cancelled its context
// if it did.
func (w *watchdog) explain(err error) error {
	if cause := context.Cause(w.ctx); errors.Is(cause, errStalled) {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}

// stop releases the watchdog and cancels its context.
func (w *watchdog) stop() {
	close(w.done)
	w.cancel(nil)
}
