package process

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// NotifyRead calls f, once and in a goroutine of its own, when a Read of
// the stream would not block: there is something to read, the stream has
// ended, or it was closed. Until then nothing waits for the stream but
// the process's one epoll instance (see ReadWatch), so a reader that
// waits this way between reads holds no goroutine, and no stack, while
// its child is silent. At most one call may be pending at a time.
func (s *stream) NotifyRead(f func()) {
	if !s.watch.NotifyRead(f) {
		go func() {
			s.WaitRead()
			f()
		}()
	}
}

// notifyRead has the poller call f once c is ready to read, and returns
// what cancels that: stop reports whether f was still to be called, and
// now never will be. It returns nil where c cannot be waited for so.
func notifyRead(c syscall.Conn, f func()) (stop func() bool) {
	if readers.epfd < 0 {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	token := readers.add(f)
	err = control(rc, func(fd int) error {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(token)}
		err := unix.EpollCtl(readers.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
		if err == unix.EEXIST {
			// Armed before: the fired, disarmed entry is armed again.
			err = unix.EpollCtl(readers.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
		}
		return err
	})
	if err != nil {
		readers.take(token)
		return nil
	}
	return func() bool {
		if readers.take(token) == nil {
			return false
		}
		control(rc, func(fd int) error {
			return unix.EpollCtl(readers.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		})
		return true
	}
}

// control runs fn on rc's descriptor, unless it is closed.
func control(rc syscall.RawConn, fn func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
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
			panic("process: epoll_wait: " + err.Error())
		}
		for _, ev := range events[:n] {
			if f := p.take(uint32(ev.Fd)); f != nil {
				go f()
			}
		}
	}
}
