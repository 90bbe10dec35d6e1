package process

import (
	"sync"

	"golang.org/x/sys/unix"
)

// NotifyRead calls f, once and in a goroutine of its own, when a Read of
// the stream would not block: there is something to read, the stream has
// ended, or it was closed. Until then nothing waits for the stream but
// one epoll instance shared by all of them, so a reader that waits this
// way between reads holds no goroutine, and no stack, while its child is
// silent. At most one call may be pending at a time.
func (s *stream) NotifyRead(f func()) {
	if !s.watch.arm(s, f) {
		go func() {
			s.WaitRead()
			f()
		}()
	}
}

// readWatch is a stream's registration with readPoller.
type readWatch struct {
	mu     sync.Mutex
	token  uint32 // the stream's key in the poller; 0 until first armed
	notify func() // to be called when the stream is ready; nil when none
	ended  bool   // the stream was closed
}

// arm has f called when s is ready, and reports whether it could be.
func (w *readWatch) arm(s *stream, f func()) bool {
	if readers.epfd < 0 {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		go f()
		return true
	}
	op := unix.EPOLL_CTL_MOD
	if w.token == 0 {
		w.token = readers.add(s)
		op = unix.EPOLL_CTL_ADD
	}
	w.notify = f
	err := s.control(func(fd int) error {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(w.token)}
		return unix.EpollCtl(readers.epfd, op, fd, &ev)
	})
	if err != nil {
		w.notify = nil
		return false
	}
	return true
}

// fire calls the pending notify, if any.
func (w *readWatch) fire() {
	w.mu.Lock()
	f := w.notify
	w.notify = nil
	w.mu.Unlock()
	if f != nil {
		go f()
	}
}

// end takes s out of the poller before its descriptor is closed. The
// pending notify, if any, is returned, to be called once it is.
func (w *readWatch) end(s *stream) (pending func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	pending, w.notify = w.notify, nil
	if w.token != 0 {
		s.control(func(fd int) error {
			return unix.EpollCtl(readers.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		})
		readers.remove(w.token)
	}
	return pending
}

// control runs fn on the stream's descriptor, unless it is closed.
func (s *stream) control(fn func(fd int) error) error {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return err
	}
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

// readPoller waits, in one goroutine, for any of the armed streams to be
// ready to read, and calls their notify.
type readPoller struct {
	epfd int // -1 when epoll could not be had

	mu      sync.Mutex
	streams map[uint32]*stream // by token
	next    uint32
}

// newReadPoller starts a readPoller. Where epoll cannot be had, streams
// are waited for by a goroutine each.
func newReadPoller() *readPoller {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return &readPoller{epfd: -1}
	}
	p := &readPoller{epfd: fd, streams: make(map[uint32]*stream)}
	go p.run()
	return p
}

// add gives s a token of its own, never 0.
func (p *readPoller) add(s *stream) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		p.next++
		if p.next != 0 && p.streams[p.next] == nil {
			break
		}
	}
	p.streams[p.next] = s
	return p.next
}

func (p *readPoller) remove(token uint32) {
	p.mu.Lock()
	delete(p.streams, token)
	p.mu.Unlock()
}

// run calls the notify of each stream reported ready, for as long as the
// process runs. A stream is armed for one report at a time
// (EPOLLONESHOT), so each notify is called once.
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
			p.mu.Lock()
			s := p.streams[uint32(ev.Fd)]
			p.mu.Unlock()
			if s != nil {
				s.watch.fire()
			}
		}
	}
}
