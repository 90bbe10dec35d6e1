package bridge

import (
	"errors"
	"syscall"
)

// A ReadWatch tells when a client's connection has something to read,
// with no goroutine waiting for it meanwhile. *readwatch.Watch is one.
type ReadWatch interface {
	// NotifyRead has f called, once and in a goroutine of its own, when
	// a read would not block, or once End has been called. It reports
	// false, and will not call f, where it cannot wait so.
	NotifyRead(f func()) bool
	// End is called before the connection is closed.
	End()
}

// errQuiet is what a read of a resting wire returns when the client has
// sent nothing for linger.
var errQuiet = errors.New("client quiet")

// watchClient has the client's connection watched with watch, if set,
// where the connection has a descriptor: the input pump may then rest.
func (s *session) watchClient(watch func(syscall.Conn) ReadWatch) {
	if watch == nil {
		return
	}
	if c, ok := s.conn.wire.Conn.(syscall.Conn); ok {
		s.conn.wire.watch = watch(c)
		s.rests = true
	}
}

// readInput runs the input pump until the client goes, then ends the
// session for it and sends why on inDone. The pump rests when the client
// has been quiet for linger between two messages: it returns, the
// connection's watch runs it again once the client sends something, and
// until then no goroutine waits for the client. Control frames wake it
// too: pongs are read as they come. What the watch runs is made once,
// not at each rest.
func (s *session) readInput(inDone chan<- error) {
	var run func()
	run = func() {
		for {
			err := s.pumpInput()
			if errors.Is(err, errQuiet) {
				if s.conn.wire.watch.NotifyRead(run) {
					return
				}
				s.rests = false
				continue
			}
			code, reason := closeStatus(err)
			if letGo := s.leaving(err, code, reason); letGo != nil {
				letGo()
			}
			inDone <- err
			return
		}
	}
	run()
}
