// Package bridge connects one WebSocket to one child program (Run), or
// many to one shared child (Group): client messages become lines on the
// child's stdin, lines the child prints become messages, and when either
// side goes the other is told how.
package bridge

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Config says how a session moves bytes. The zero value is text mode
// without pings.
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
	// Ending, when set, is called once as the session ends, before the
	// client is sent its close frame: what was held for the session can
	// be given back by the time the client learns that it is over. A
	// Group does not use it: Group.Run takes each client's own.
	Ending func()
	// MaxRate is the most messages read from the client a second, in
	// bursts of up to MaxRate: a message that comes sooner waits, and
	// while it waits the socket is not read, so a faster client is slowed
	// down by TCP and nothing is dropped. Zero means no limit.
	MaxRate int
	// QueueSize bounds, for a Group, the output waiting to be sent to
	// one client, in bytes, each message counting for at least 64 bytes:
	// a client whose queue would overflow, because the others read
	// faster, is closed with 1008. Zero means DefaultQueueSize. Run does
	// not use it: there, a client that does not read stops the reading
	// of the child's output.
	QueueSize int
}

// Child is the program on the other side of a session.
// *process.Process is one.
type Child interface {
	Stdin() io.WriteCloser
	// Stdout and Stderr must reach EOF once the child is gone.
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
	// Message and byte counts, In from the client, Out to it.
	MessagesIn, MessagesOut int64
	BytesIn, BytesOut       int64
}

// shutdownReason comes with the 1001 sent to every client when the server
// shuts down.
const shutdownReason = "server shutting down"

// ErrPongMissed is the Result.ClientErr of a client dropped for not
// answering pings.
var ErrPongMissed = errors.New("client missed pongs")

// Run moves messages between conn and child until one of them goes, then
// finishes both: when the child exits, everything it wrote is delivered
// before the close frame (1000 for status 0, 1011 and the exit status
// otherwise); when the client goes, the child is stopped. When ctx is done
// (the server shuts down) the child is stopped, its last output delivered
// and the client closed with 1001. Run returns once the child has been
// reaped and every goroutine it started has ended.
func Run(ctx context.Context, conn *Conn, child Child, cfg Config) Result {
	s := &session{peer: peer{conn: conn, rate: newRate(cfg.MaxRate), lost: make(chan struct{})}, child: child, cfg: cfg, ended: make(chan struct{})}
	s.stdin.w = child.Stdin()
	conn.wire.beforeRead = s.flushStdin
	return s.run(ctx)
}

type session struct {
	peer
	child Child
	cfg   Config
	stdin stdin

	ended chan struct{} // closed once the session is ending: no more waits for MaxRate

	// written by the pumps, read after they ended
	out    counts
	errOut counts // stderr lines sent with PassStderr
}

type counts struct{ messages, bytes int64 }

func (s *session) run(ctx context.Context) Result {
	// The pumps read and write without a context that can end: a
	// cancelled read or write would close the connection without a close
	// frame, and a context that can end costs an allocation per call.
	inDone := make(chan error, 1)
	outDone := make(chan error, 1)
	exited := s.child.Done()
	stderrDone := make(chan struct{})
	stopped := make(chan struct{})
	go func() { inDone <- s.pumpInput() }()
	go func() { outDone <- s.pumpOutput() }()
	go func() { s.pumpStderr(); close(stderrDone) }()
	pings := s.startPings(s.cfg.PingInterval)

	var (
		r          Result
		outEOF     bool // all of stdout was delivered
		errEOF     bool // all of stderr was passed on
		childGone  bool
		clientGone bool
		shutdown   = ctx.Done()
		stopping   bool
		closing    bool // the server shuts down
		lost       = s.lost
	)
	stop := func() {
		if !stopping {
			stopping = true
			go func() { s.stop(); close(stopped) }()
		}
	}
	for !(outEOF && errEOF && childGone) && !clientGone {
		select {
		case <-stderrDone:
			stderrDone = nil
			errEOF = true
		case err := <-inDone:
			inDone = nil
			clientGone = true
			r.ClientErr = err
			r.Code, r.Reason = clientStatus(err)
		case err := <-outDone:
			outDone = nil
			outEOF = true
			if err != nil {
				clientGone = true
				r.ClientErr = err
				r.Code = websocket.StatusAbnormalClosure
			}
		case <-exited:
			exited = nil
			childGone = true
			r.Exit = s.child.Wait()
		case <-lost:
			lost = nil
			clientGone = true
			r.Code = websocket.StatusAbnormalClosure
		case <-shutdown:
			shutdown = nil
			closing = true
			stop()
		}
	}
	close(s.ended)
	if s.cfg.Ending != nil {
		s.cfg.Ending()
	}

	if clientGone {
		// Nobody is listening: stop the child while the output pump
		// drains what it still writes. The stop comes first: the
		// input pump may be waiting on the child's stdin inside a read
		// of the connection, which closing the connection waits for.
		stop()
		if violated(r.ClientErr) {
			s.conn.Close(r.Code, r.Reason)
		} else {
			s.conn.CloseNow()
		}
	} else {
		r.Code, r.Reason = websocket.StatusNormalClosure, ""
		switch {
		case closing:
			r.Code, r.Reason = websocket.StatusGoingAway, shutdownReason
		case r.Exit != nil:
			r.Code, r.Reason = websocket.StatusInternalError, closeReason(r.Exit.Error())
		}
		s.conn.Close(r.Code, r.Reason)
	}

	// Wait for everything that is still running.
	if outDone != nil {
		<-outDone
	}
	r.Exit = s.child.Wait()
	if inDone != nil {
		err := <-inDone
		if clientGone && r.ClientErr == nil {
			r.ClientErr = err
		}
	}
	if stopping {
		<-stopped
	}
	if stderrDone != nil {
		<-stderrDone
	}
	pings.stop()
	if s.pongMissed.Load() {
		r.ClientErr = ErrPongMissed
	}
	r.MessagesIn, r.BytesIn = s.in.messages, s.in.bytes
	r.MessagesOut = s.out.messages + s.errOut.messages
	r.BytesOut = s.out.bytes + s.errOut.bytes
	return r
}

// flushGrace bounds how long the messages still buffered for stdin may
// take to reach a child that is being stopped.
const flushGrace = 100 * time.Millisecond

// stop hands the child the messages still buffered for its stdin, then
// stops it. A child that does not read them within flushGrace is stopped
// all the same, which ends the writing.
func (s *session) stop() {
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

// peer is the client's end of a session, or of a Group: its connection,
// what the pings go by, and the message its input pump is reading.
type peer struct {
	conn *Conn
	rate *rate // MaxRate; nil for none

	writing    atomic.Bool  // the input pump waits on the child's stdin
	heldUntil  atomic.Int64 // when the input pump's last wait for MaxRate ends, in Unix nanoseconds
	sentAt     atomic.Int64 // when output last left for the client, in Unix nanoseconds
	pongMissed atomic.Bool  // the client was dropped for not answering pings

	lost     chan struct{} // closed by clientLost
	lostOnce sync.Once

	// the input pump's; in is read by others once it ended
	raw  io.Reader      // the message being read, as the connection gives it
	msg  countingReader // counts raw
	text utf8Checker    // checks raw when it is a text message
	in   counts
}

// clientLost tells the session that the client cannot be reached any
// more.
func (c *peer) clientLost() {
	c.lostOnce.Do(func() { close(c.lost) })
}

// clientStatus is the close status a client's read error stands for.
func clientStatus(err error) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return ce.Code, ce.Reason
	case errors.Is(err, websocket.ErrMessageTooBig):
		return websocket.StatusMessageTooBig, "message too big"
	case errors.Is(err, errInvalidUTF8):
		return websocket.StatusInvalidFramePayloadData, "invalid UTF-8"
	case violated(err):
		return websocket.StatusProtocolError, "protocol error"
	}
	return websocket.StatusAbnormalClosure, ""
}

// violated reports whether a client's read error is a breach of the
// protocol or of a limit (invalid UTF-8, an unmasked frame, reserved
// bits, a bad opcode, a message over the size limit...) rather than the
// connection ending or a close frame. Such a client is sent a close frame
// that says so; the library sends one itself for some of them, but not
// for all. The connection is then kept open for the close handshake, as
// the client may still be sending: closing it at once would reset the
// connection, and the client might never read why.
func violated(err error) bool {
	var netErr net.Error
	return err != nil &&
		websocket.CloseStatus(err) == -1 &&
		!errors.Is(err, io.EOF) &&
		!errors.Is(err, io.ErrUnexpectedEOF) &&
		!errors.Is(err, net.ErrClosed) &&
		!errors.As(err, &netErr)
}

// closeReason cuts a reason to the 123 bytes a close frame can carry,
// between two runes.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
