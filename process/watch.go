package process

import (
	"sync"
	"syscall"
)

// A ReadWatch tells when a file or connection has something to read, with
// no goroutine waiting for it meanwhile: on Linux, one epoll instance
// waits for every watched descriptor of the process. The child's output
// streams are watched so; a server can watch its clients' connections
// the same way.
type ReadWatch struct {
	mu    sync.Mutex
	entry entry // the descriptor's place in the poller
	ended bool
}

// WatchRead returns a watch on c, such as an *os.File or a
// *net.TCPConn. End must be called before c is closed.
func WatchRead(c syscall.Conn) *ReadWatch {
	w := &ReadWatch{}
	w.entry.init(c)
	return w
}

// NotifyRead has f called, once and in a goroutine of its own, when a read
// of c would not block: c has something to read, has ended or has failed;
// or once End has been called. It reports false, and will not call f,
// where that needs a goroutine to wait: on systems other than Linux, or
// for a c without a descriptor. At most one call may be pending at a
// time. It allocates nothing.
func (w *ReadWatch) NotifyRead(f func()) bool {
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
func (w *ReadWatch) End() {
	w.mu.Lock()
	w.ended = true
	f := w.entry.disarm()
	w.mu.Unlock()
	if f != nil {
		go f()
	}
}
