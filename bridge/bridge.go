package bridge

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// Config says how messages move between clients and a program, for Start
// and NewBroadcast alike. The zero value is text mode without pings.
type Config struct {
	// Binary sends client messages to stdin exactly as they are, and each
	// chunk the child writes back as a binary message. Otherwise a client
	// message becomes one line on stdin and each stdout line one text
	// message.
	Binary bool
	// RawInput writes client text messages to stdin exactly as they are,
	// with no newline added, for programs that read keystrokes or frame
	// their input themselves; output is still split into lines. Binary
	// mode always writes messages as they are, with or without it.
	RawInput bool
	// PingInterval is how often the client is pinged; a client that has
	// not answered within twice the interval is dropped. Zero turns pings
	// off.
	PingInterval time.Duration
	// PassStderr sends stderr lines to the client too, and every line as
	// a JSON object that says where it came from:
	// {"stream":"stdout","data":"..."} or {"stream":"stderr","data":"..."}.
	// Text mode only.
	PassStderr bool
	// Stderr receives each line the child writes on stderr, without its
	// newline. Nil discards them.
	Stderr func(line []byte)
	// MaxRate is the most messages read from the client a second, in
	// bursts of up to MaxRate: a message that comes sooner waits, and
	// while it waits the socket is not read, so a faster client is slowed
	// down by TCP and nothing is dropped. Zero means no limit.
	MaxRate int
}

// SessionConfig says how Start runs a session: Config, and what applies
// to a client that has its program to itself. The zero value is that of
// Config, with no write timeout.
type SessionConfig struct {
	Config
	// Ending, when set, is called once as the session ends, before the
	// client is sent its close frame: what was held for the session can
	// be given back by the time the client learns that it is over.
	Ending func()
	// WatchRead, when set, lets a session whose client is quiet hold no
	// goroutine for it: it is given the client's connection, where that
	// has a descriptor (not under TLS), and returns a watch on it.
	// readwatch.New makes one.
	WatchRead func(c syscall.Conn) ReadWatch
	// WriteTimeout is how long a client may leave a write of its output
	// (at most 64 KiB, as writes are gathered) unfinished before it is
	// dropped, with ErrWriteStalled: one that does not read is let go,
	// and its child stopped. Once the server shuts down, shutdownStall is
	// the limit, if shorter. Zero means no limit but that one.
	WriteTimeout time.Duration
}

// Child is the program on the other side of a session.
// *process.Process is one.
type Child interface {
	Stdin() io.WriteCloser
	// Stdout and Stderr must reach EOF once the child is gone. Streams
	// that can tell when they have something to read, as those of
	// *process.Process can on Linux, are read with no goroutine waiting
	// for them while the child is quiet.
	Stdout() io.Reader
	Stderr() io.Reader
	// Done is closed once the child has exited.
	Done() <-chan struct{}
	// Wait blocks until the child has exited and tells how: nil for
	// status 0.
	Wait() error
	// Stop closes the child's stdin, stops it and returns once it exited.
	Stop()
}

// Result tells how a session went.
type Result struct {
	// Exit is how the child exited: nil for status 0.
	Exit error
	// Code and Reason are the close status sent to or received from the
	// client; StatusAbnormalClosure when the connection just broke.
	Code   websocket.StatusCode
	Reason string
	// ClientErr is why the client went away, nil if it did not.
	ClientErr error
	// Counts are what the session moved.
	Counts
}

// ErrPongMissed is the Result.ClientErr of a client dropped for not
// answering pings.
var ErrPongMissed = errors.New("client missed pongs")

// ErrWriteStalled is the Result.ClientErr of a client dropped for leaving
// a write unfinished for Config.WriteTimeout, or for shutdownStall once
// the server shuts down.
var ErrWriteStalled = errors.New("client stopped taking its output")

// shutdownStall bounds how long a client may leave a write unfinished once
// the server shuts down, whatever Config.WriteTimeout says: its session
// then ends, well before the server gives up waiting for it.
const shutdownStall = 5 * time.Second

// Start moves messages between conn and child until one of them goes,
// then finishes both: when the child exits, everything it wrote is
// delivered before the close frame (1000 for status 0, 1011 otherwise,
// with the exit status and the last line of stderr); when the client
// goes, the child is stopped. When ctx
// is done (the server shuts down) the child is stopped, its last output
// delivered and the client closed with 1001. Start returns at once; done
// is called with how the session went once the child has been reaped and
// every goroutine of the session has ended but the one calling done.
func Start(ctx context.Context, conn *Conn, child Child, cfg SessionConfig, done func(Result)) {
	s := &session{peer: peer{conn: conn, rate: newRate(cfg.MaxRate)}, child: child, cfg: cfg, ended: make(chan struct{})}
	s.lose = func() { s.clientGone(nil, websocket.StatusAbnormalClosure, "") }
	s.stdin.w = child.Stdin()
	conn.wire.beforeRead = s.flushStdin
	if cfg.WriteTimeout > 0 {
		conn.wire.limitStall(cfg.WriteTimeout)
	}
	s.watchClient(cfg.WatchRead)
	s.start(ctx, done)
}

type session struct {
	peer
	child Child
	cfg   SessionConfig
	stdin stdin
	rests bool // the input pump's: it may rest while the client is quiet (see readInput)

	ended chan struct{} // closed once the session is ending: no more waits for MaxRate

	mu      sync.Mutex
	ending  bool          // the end has begun: ended is closed
	left    chan struct{} // made when the client went first, closed once it has been let go
	closing bool          // the server shuts down
	stopped chan struct{} // made when the child is being stopped, closed once it is
	r       Result        // Code, Reason and ClientErr, once the client went first

	lastErr []byte // the stderr pump's, read after it ended: the start of the last line of stderr that is not blank
}

// start runs the session: the client's messages, the child's stdout and
// its stderr are read as they come, with no goroutine waiting for them
// where the connection and the child can tell (see readInput and
// pumpChunks). The goroutine that sees the end of stdout sees the session
// to its end. A client that goes and a server that shuts down are dealt
// with by the goroutine that learns of it (clientGone, shutdown), as the
// child's output may still be awaited.
func (s *session) start(ctx context.Context, done func(Result)) {
	// The pumps read and write without a context that can end: a
	// cancelled read or write would close the connection without a close
	// frame, and a context that can end costs an allocation per call.
	inDone := make(chan error, 1)
	stderrDone := make(chan struct{})
	go s.readInput(inDone)
	s.pumpStderr(func() { close(stderrDone) })
	pings := s.startPings(s.cfg.PingInterval)
	unwatch := context.AfterFunc(ctx, s.shutdown)
	s.pumpOutput(func() {
		done(s.end(inDone, stderrDone, pings, unwatch))
	})
}

// end sees a session whose stdout has all been delivered, unless the
// client went, to its end: it waits for the child's exit and the end of
// stderr, finishes the session, waits for all that still runs and tells
// how the session went.
func (s *session) end(inDone <-chan error, stderrDone <-chan struct{}, pings *pinger, unwatch func() bool) Result {
	exited, errDone := s.child.Done(), stderrDone
wait:
	for exited != nil || errDone != nil {
		select {
		case <-errDone:
			errDone = nil
		case <-exited:
			exited = nil
		case <-s.ended:
			break wait
		}
	}
	s.finish()

	// Wait for everything that is still running.
	unwatch()
	s.mu.Lock()
	left := s.left
	s.mu.Unlock()
	if left != nil {
		<-left
	}
	err := <-inDone
	s.mu.Lock()
	r, stopped := s.r, s.stopped
	s.mu.Unlock()
	if left != nil && r.ClientErr == nil {
		r.ClientErr = err
	}
	r.Exit = s.child.Wait()
	if stopped != nil {
		<-stopped
	}
	<-stderrDone
	pings.stop()
	switch {
	case s.pongMissed.Load():
		r.ClientErr = ErrPongMissed
	case s.conn.wire.stalled.Load():
		r.ClientErr = ErrWriteStalled
	}
	r.Counts = s.conn.Counts()
	return r
}

// finish ends a session whose child has exited and whose output has all
// been delivered, unless the client went first: the client is closed with
// the status exitStatus gives.
func (s *session) finish() {
	s.mu.Lock()
	if !s.endLocked() {
		s.mu.Unlock()
		return
	}
	// Stderr has reached its end: lastErr is final.
	code, reason := exitStatus(s.child.Wait(), s.closing, s.lastErr)
	s.r.Code, s.r.Reason = code, reason
	s.mu.Unlock()
	if s.cfg.Ending != nil {
		s.cfg.Ending()
	}
	s.conn.Close(code, reason)
}

// clientGone ends the session for a client that went (err, as its input
// pump read it) or was lost (nil), unless it has ended already. The child
// is stopped while the pump of stdout drains what it still writes, and
// the client is let go, in a goroutine of their own: the caller may be
// the pump of stdout itself.
func (s *session) clientGone(err error, code websocket.StatusCode, reason string) {
	if letGo := s.leaving(err, code, reason); letGo != nil {
		go letGo()
	}
}

// leaving begins the end of the session for a client that went, as
// clientGone does, unless it has ended already, and returns what lets
// the client go, for the caller to run; nil when there is nothing to do.
// The input pump, which learns of the client's end and then ends, runs
// it itself.
func (s *session) leaving(err error, code websocket.StatusCode, reason string) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.endLocked() {
		return nil
	}
	s.r.ClientErr, s.r.Code, s.r.Reason = err, code, reason
	s.left = make(chan struct{})
	return func() {
		defer close(s.left)
		if s.cfg.Ending != nil {
			s.cfg.Ending()
		}
		// The stop comes first: the input pump may be waiting on the
		// child's stdin inside a read of the connection, which closing
		// the connection waits for.
		s.mu.Lock()
		s.stopLocked()
		s.mu.Unlock()
		closeClient(s.conn, err, code, reason)
	}
}

// endLocked begins the end of the session, once: it closes ended and
// reports whether this call did; s.mu is held.
func (s *session) endLocked() bool {
	if s.ending {
		return false
	}
	s.ending = true
	close(s.ended)
	return true
}

// shutdown stops the child of a session that has not ended yet, whose
// last output is then delivered before it is closed with 1001, unless
// its client leaves a write of it unfinished for shutdownStall.
func (s *session) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ending {
		s.closing = true
		s.conn.wire.limitStall(shutdownStall)
		s.stopLocked()
	}
}

// stopLocked starts stopping the child, once; s.mu is held.
func (s *session) stopLocked() {
	if s.stopped == nil {
		s.stopped = make(chan struct{})
		go func() {
			s.stop()
			close(s.stopped)
		}()
	}
}

// flushGrace bounds how long the messages still buffered for stdin may
// take to reach a child that is being stopped.
const flushGrace = 100 * time.Millisecond

// stop hands the child the messages still buffered for its stdin, if
// any, then stops it. A child that does not read them within flushGrace
// is stopped all the same, which ends the writing.
func (s *session) stop() {
	if s.stdin.empty() {
		s.child.Stop()
		return
	}
	flushed := make(chan struct{})
	go func() {
		s.flushStdin()
		close(flushed)
	}()
	t := time.NewTimer(flushGrace)
	select {
	case <-flushed:
	case <-t.C:
	}
	t.Stop()
	s.child.Stop()
	<-flushed
}

// peer is the client's end of a session, or of a Broadcast: its connection,
// what the pings go by, and the message its input pump is reading.
type peer struct {
	conn *Conn
	rate *rate // MaxRate; nil for none

	writing    atomic.Bool  // the input pump waits on the child's stdin
	heldUntil  atomic.Int64 // when the input pump's last wait for MaxRate ends, in Unix nanoseconds
	sentAt     atomic.Int64 // when output last left for the client, in Unix nanoseconds
	pongMissed atomic.Bool  // the client was dropped for not answering pings

	lose func() // called by clientLost; more calls than one must do no harm

	// the input pump's
	raw      io.Reader      // the message being read, as the connection gives it
	verified verifiedReader // reads raw
	msg      countingReader // counts verified, through text for a text message
	text     utf8Checker    // checks verified when it is a text message
}

// clientLost tells the session that the client cannot be reached any
// more.
func (c *peer) clientLost() { c.lose() }
