//go:build linux

package main

import (
	"context"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// The ceiling's fan-out keeps wsbridge's --broadcast bounds: the source
// waits while every client has fanoutAhead lines or more still to be sent,
// and a client more than fanoutQueue lines behind the fastest is closed
// with 1008 (bridge.DefaultQueueSize and its read-ahead, in 64-byte
// lines).
const (
	fanoutAhead = (64 << 10) / messageSize
	fanoutQueue = (1 << 20) / messageSize
)

// room is the ceiling's one fan-out group: the stamped lines of the bursts
// its clients ask for, made in-process with no program and sent to every
// client, each client read by one goroutine and written by another.
var room = newFanoutRoom()

// A fanoutRoom sends every line published to every member, each at its own
// pace, within the bounds above.
type fanoutRoom struct {
	mu      sync.Mutex
	moved   sync.Cond // on mu: a member took lines, or left
	lines   [][]byte  // published lines not yet sent to every member, from number base on
	base    int
	members map[*fanMember]struct{}
	bursts  chan burst // to the source
}

// A fanMember is one client of a fanoutRoom.
type fanMember struct {
	conn *websocket.Conn
	gc   *gatheringConn
	next int           // number of the next line to send it
	wake chan struct{} // holds a value when lines may be waiting for it
	gone bool          // closed: no more lines for it
}

// newFanoutRoom returns an empty room, its source waiting for bursts.
func newFanoutRoom() *fanoutRoom {
	f := &fanoutRoom{members: make(map[*fanMember]struct{}), bursts: make(chan burst, 1)}
	f.moved.L = &f.mu
	go func() {
		for b := range f.bursts {
			emit(b, f.publish)
		}
	}()
	return f
}

// serveFanout upgrades the request and makes it a member of room until
// it goes: each of its messages is a burst for the source, and every line
// of every burst is sent to it.
func serveFanout(w http.ResponseWriter, r *http.Request) {
	h := &gatheringHijacker{ResponseWriter: w}
	c, err := websocket.Accept(h, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	m := &fanMember{conn: c, gc: h.conn, wake: make(chan struct{}, 1)}
	room.join(m)
	defer room.leave(m)
	go room.send(m)
	ctx := context.Background()
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		b, err := parseBurst(string(p))
		if err != nil {
			c.Close(websocket.StatusUnsupportedData, err.Error())
			return
		}
		room.bursts <- b
	}
}

// join makes m a member, sent the lines published from now on.
func (f *fanoutRoom) join(m *fanMember) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m.next = f.base + len(f.lines)
	f.members[m] = struct{}{}
}

// leave ends m's membership.
func (f *fanoutRoom) leave(m *fanMember) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop(m)
}

// drop closes m and removes it. f.mu must be held.
func (f *fanoutRoom) drop(m *fanMember) {
	if m.gone {
		return
	}
	m.gone = true
	delete(f.members, m)
	m.wakeUp()
	f.moved.Broadcast()
}

// wakeUp tells m's sender that lines may be waiting.
func (m *fanMember) wakeUp() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// publish adds a copy of line for every member, once some member has less
// than fanoutAhead lines waiting, and closes with 1008 the members it
// would put more than fanoutQueue lines behind.
func (f *fanoutRoom) publish(line []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.behind() {
		f.moved.Wait()
	}
	f.lines = append(f.lines, append([]byte(nil), line...))
	end := f.base + len(f.lines)
	for m := range f.members {
		if end-m.next > fanoutQueue {
			f.drop(m)
			go m.conn.Close(websocket.StatusPolicyViolation, "too slow: output queue full")
			continue
		}
		m.wakeUp()
	}
	if len(f.lines) >= 2*fanoutQueue {
		f.trim()
	}
	return nil
}

// behind reports whether every member has fanoutAhead lines or more
// waiting. f.mu must be held.
func (f *fanoutRoom) behind() bool {
	if len(f.members) == 0 {
		return false
	}
	end := f.base + len(f.lines)
	for m := range f.members {
		if end-m.next < fanoutAhead {
			return false
		}
	}
	return true
}

// trim forgets the lines every member has been sent. f.mu must be held.
func (f *fanoutRoom) trim() {
	low := f.base + len(f.lines)
	for m := range f.members {
		low = min(low, m.next)
	}
	n := copy(f.lines, f.lines[low-f.base:])
	clear(f.lines[n:])
	f.lines = f.lines[:n]
	f.base = low
}

// send writes to m the lines waiting for it, those of one wake-up leaving
// in one write to the socket, until m is gone or a write fails.
func (f *fanoutRoom) send(m *fanMember) {
	ctx := context.Background()
	var batch [][]byte
	for range m.wake {
		f.mu.Lock()
		if m.gone {
			f.mu.Unlock()
			return
		}
		batch = append(batch[:0], f.lines[m.next-f.base:]...)
		f.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		m.gc.hold()
		var err error
		for _, line := range batch {
			if err = m.conn.Write(ctx, websocket.MessageText, line); err != nil {
				break
			}
		}
		if rerr := m.gc.release(); err == nil {
			err = rerr
		}
		f.mu.Lock()
		m.next += len(batch)
		f.moved.Broadcast()
		if err != nil {
			f.drop(m)
		} else if m.next < f.base+len(f.lines) {
			m.wakeUp()
		}
		f.mu.Unlock()
		if err != nil {
			m.conn.CloseNow()
			return
		}
	}
}
