//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The sequence numbers of the fanout scenarios' lines say which step of a
// run a line belongs to: the lines that make sure every client is served,
// then the flood, then the paced burst.
const (
	floodFirst = 1_000_000
	pacedFirst = 2_000_000
)

// fanClients are the clients of a fanout run: each reads every stamped
// line, checks that none is missing or out of order, and times it from its
// stamp. A client that fails is closed and counted, never waited for
// again.
type fanClients struct {
	conns    []*websocket.Conn
	floodEnd int64 // the number of the flood's last line
	pacedEnd int64 // the number of the paced burst's last line
	paced    histogram

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when a count below moves
	synced  int           // clients that have had a line
	flooded int           // clients that have had the flood's last line
	done    int           // clients that have had the paced burst's last line
	failed  int
	first   error // the first client's failure
}

// dialFanout opens n connections to ws://addr/fanout, dialers at a time.
func dialFanout(ctx context.Context, addrs []string, n int, errs *errorCounter) []*websocket.Conn {
	i := 0
	var mu sync.Mutex
	return openAll(ctx, n, errs, func(ctx context.Context) (*websocket.Conn, error) {
		mu.Lock()
		addr := addrs[i%len(addrs)]
		i++
		mu.Unlock()
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/fanout", &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			return nil, fmt.Errorf("connecting to %s: %w", addr, err)
		}
		return c, nil
	})
}

// newFanClients starts reading conns, the nil ones left out.
func newFanClients(conns []*websocket.Conn, flood, paced int64) *fanClients {
	f := &fanClients{floodEnd: floodFirst + flood - 1, pacedEnd: pacedFirst + paced - 1, changed: make(chan struct{})}
	for _, c := range conns {
		if c != nil {
			f.conns = append(f.conns, c)
			go f.read(c)
		}
	}
	return f
}

// read reads the lines of c until it fails or has had the paced burst's
// last line.
func (f *fanClients) read(c *websocket.Conn) {
	err := f.readLines(c)
	if err != nil {
		c.CloseNow()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.failed++
		if f.first == nil {
			f.first = err
		}
	}
	f.moved()
}

// readLines reads and checks the lines of c up to the paced burst's last.
func (f *fanClients) readLines(c *websocket.Conn) error {
	// A context that can end would cost an allocation per read: the
	// connection is closed instead.
	ctx := context.Background()
	buf := make([]byte, messageSize+1)
	synced := false
	last := int64(-1)
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return fmt.Errorf("after line %d: %w", last, err)
		}
		n, err := io.ReadFull(r, buf)
		now := time.Now()
		if typ != websocket.MessageText || !errors.Is(err, io.ErrUnexpectedEOF) || n != messageSize {
			return fmt.Errorf("after line %d: got a %v message of %d bytes or more (%v), want a stamped line", last, typ, n, err)
		}
		stamp, seq, err := parseStamped(buf[:n])
		if err != nil {
			return err
		}
		switch {
		case seq < floodFirst:
			if !synced {
				synced = true
				f.count(&f.synced)
			}
		case seq == floodFirst && last < floodFirst, seq == pacedFirst && last == f.floodEnd, seq == last+1:
		default:
			return fmt.Errorf("line %d came after line %d", seq, last)
		}
		last = seq
		if seq >= pacedFirst {
			f.paced.add(now.Sub(stamp))
		}
		switch seq {
		case f.floodEnd:
			f.count(&f.flooded)
		case f.pacedEnd:
			f.count(&f.done)
			return nil
		}
	}
}

// count adds one to the count *n, a field of f.
func (f *fanClients) count(n *int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*n++
	f.moved()
}

// moved tells those waiting that a count moved. f.mu must be held.
func (f *fanClients) moved() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// wait waits until the count *n, a field of f, reaches every client that
// has not failed, and returns false if that takes longer than timeout.
func (f *fanClients) wait(ctx context.Context, n *int, timeout time.Duration) (bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		f.mu.Lock()
		ok := *n >= len(f.conns)-f.failed
		changed := f.changed
		f.mu.Unlock()
		if ok {
			return true, nil
		}
		select {
		case <-changed:
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// failures returns how many clients failed, and the first one's error.
func (f *fanClients) failures() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed, f.first
}

// close closes every client.
func (f *fanClients) close() {
	for _, c := range f.conns {
		c.CloseNow()
	}
}
