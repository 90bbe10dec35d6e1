// Package readwatch tells when a file or a connection has something to
// read, with no goroutine waiting for it meanwhile: on Linux, one epoll
// instance waits for every watched descriptor of the process. A server
// watches so the output streams of its programs and the connections of
// its quiet clients, and holds neither a goroutine nor a buffer for them
// while they are silent.
package readwatch

import (
	"sync"
	"syscall"
)

// A Watch tells when one file or connection has something to read.
type Watch struct {
	mu    sync.Mutex
	entry entry // the descriptor's place in the poller
	ended bool
}

// New returns a watch on c, such as an *os.File or a *net.TCPConn. End
// must be called before c is closed.
func New(c syscall.Conn) *Watch {
	w := &Watch{}
	w.entry.init(c)
	return w
}

// NotifyRead has f called, once and in a goroutine of its own, when a read
// of c would not block: c has something to read, has ended or has failed;
// or once End has been called. It reports false, and will not call f,
// where that needs a goroutine to wait: on systems other than Linux, or
// for a c without a descriptor. At most one call may be pending at a
// time. It allocates nothing.
func (w *Watch) NotifyRead(f func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		go f()
		return true
	}
	return w.entry.arm(f)
}

// End ends the watch before c is closed: the function of a pending
// NotifyRead is called, as is that of any later one.
func (w *Watch) End() {
	w.mu.Lock()
	w.ended = true
	f := w.entry.disarm()
	w.mu.Unlock()
	if f != nil {
		go f()
	}
}
