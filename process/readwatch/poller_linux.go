package readwatch

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// entry is a descriptor's place in the poller. The function that
// arms and disarms it is made once, so that a wait allocates nothing.
type entry struct {
	rc    syscall.RawConn  // nil where the descriptor cannot be waited for so
	ctl   func(fd uintptr) // e.control
	op    int              // what ctl does: unix.EPOLL_CTL_ADD or _DEL
	token uint32           // the armed wait's, under which the poller keeps it
	err   error            // what ctl met
}

// init finds c's descriptor, where the poller runs.
func (e *entry) init(c syscall.Conn) {
	if readers.epfd < 0 {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	e.rc, e.ctl = rc, e.control
}

// arm has the poller call f once the descriptor is ready to read, and
// reports whether it could.
func (e *entry) arm(f func()) bool {
	if e.rc == nil {
		return false
	}
	e.token = readers.add(f)
	if e.do(unix.EPOLL_CTL_ADD) != nil {
		readers.take(e.token)
		return false
	}
	return true
}

// disarm cancels the armed wait and returns the function it was to call,
// or nil when there is none: none was armed, or the poller took it.
func (e *entry) disarm() func() {
	if e.rc == nil || e.token == 0 {
		return nil
	}
	f := readers.take(e.token)
	if f != nil {
		e.do(unix.EPOLL_CTL_DEL)
	}
	return f
}

// do runs op on the descriptor, unless it is closed.
func (e *entry) do(op int) error {
	e.op, e.err = op, nil
	if err := e.rc.Control(e.ctl); err != nil {
		return err
	}
	return e.err
}

// control is ctl: it runs e.op on fd, for e.token.
func (e *entry) control(fd uintptr) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(e.token)}
	e.err = unix.EpollCtl(readers.epfd, e.op, int(fd), &ev)
	if e.op == unix.EPOLL_CTL_ADD && e.err == unix.EEXIST {
		// Armed before: the fired, disarmed entry is armed again.
		e.err = unix.EpollCtl(readers.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
	}
}

// readers is the process's one readPoller. It runs from the start, so
// that what the process holds at rest does not change with its first
// quiet child.
var readers = newReadPoller()

// readPoller waits, in one goroutine, for any of the armed descriptors to
// be ready to read, and calls what was armed with each.
type readPoller struct {
	epfd int // -1 when epoll could not be had

	mu      sync.Mutex
	pending map[uint32]func() // by token
	next    uint32
}

// newReadPoller starts a readPoller. Where epoll cannot be had,
// descriptors are waited for by a goroutine each.
func newReadPoller() *readPoller {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return &readPoller{epfd: -1}
	}
	p := &readPoller{epfd: fd, pending: make(map[uint32]func())}
	go p.run()
	return p
}

// add keeps f under a token of its own, never 0.
func (p *readPoller) add(f func()) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		p.next++
		if p.next != 0 && p.pending[p.next] == nil {
			break
		}
	}
	p.pending[p.next] = f
	return p.next
}

// take removes and returns what token was kept for, or nil if it was
// taken already.
func (p *readPoller) take(token uint32) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.pending[token]
	delete(p.pending, token)
	return f
}

// run calls what was armed with each descriptor reported ready, for as
// long as the process runs. A descriptor is armed for one report at a
// time (EPOLLONESHOT), and what is taken is called once.
func (p *readPoller) run() {
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			panic("readwatch: epoll_wait: " + err.Error())
		}
		for _, ev := range events[:n] {
			if f := p.take(uint32(ev.Fd)); f != nil {
				go f()
			}
		}
	}
}
