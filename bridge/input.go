package bridge

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// stdinBufferSize is the size of the buffer between client messages and
// the child's stdin.
const stdinBufferSize = 16 << 10

// stdinBuffers holds the buffers of every session's stdin: a session holds
// one only while it has bytes the child has not taken yet.
var stdinBuffers = sync.Pool{New: func() any { return new([stdinBufferSize]byte) }}

// stdin is the child's standard input behind a buffer that is written out
// only when the socket has nothing more to read: the messages of one burst
// reach the child in one write.
type stdin struct {
	mu      sync.Mutex
	w       io.Writer
	buf     *[stdinBufferSize]byte // from stdinBuffers, nil when empty
	n       int                    // bytes of buf in use
	flushes int                    // writes to the child so far
	broken  bool                   // the child exited or closed its stdin
}

// readFrom copies r into the buffer, writing it out whenever it fills.
func (in *stdin) readFrom(r io.Reader) error {
	for {
		if in.buf == nil {
			in.buf = stdinBuffers.Get().(*[stdinBufferSize]byte)
		}
		if in.n == len(in.buf) {
			if err := in.flush(); err != nil {
				return err
			}
			continue
		}
		n, err := r.Read(in.buf[in.n:])
		in.n += n
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeByte adds b to the buffer.
func (in *stdin) writeByte(b byte) error {
	if in.buf != nil && in.n == len(in.buf) {
		if err := in.flush(); err != nil {
			return err
		}
	}
	if in.buf == nil {
		in.buf = stdinBuffers.Get().(*[stdinBufferSize]byte)
	}
	in.buf[in.n] = b
	in.n++
	return nil
}

// flush writes the buffer out and gives it back to the pool.
func (in *stdin) flush() error {
	if in.buf == nil {
		return nil
	}
	var err error
	if in.n > 0 {
		_, err = in.w.Write(in.buf[:in.n])
		in.flushes++
	}
	in.n = 0
	stdinBuffers.Put(in.buf)
	in.buf = nil
	return err
}

// pumpInput writes each client message to the child's stdin, followed by
// a newline in text mode without RawInput, until the client goes; it
// returns why, or errQuiet when it rests (see readInput). While the child
// does not read, the buffer is not written out, the socket is not read,
// and the client is slowed by TCP rather than buffered; so too while a
// message waits for MaxRate. A text message that is not valid UTF-8 ends
// the session. Once stdin is broken, messages are read and dropped, so
// that control frames are still answered.
func (s *session) pumpInput() error {
	for {
		// While a message waits for MaxRate, the child is handed
		// what is buffered.
		s.conn.wire.resting.Store(s.rests)
		r, err := s.nextMessage(s.flushStdin, s.ended)
		s.conn.wire.resting.Store(false)
		if err != nil {
			return err
		}
		s.stdin.mu.Lock()
		if s.stdin.broken {
			// An error reading is the client's: endMessage returns it.
			io.Copy(io.Discard, r)
		} else {
			s.stdin.broken = s.writeMessage(r) != nil
		}
		s.stdin.mu.Unlock()
		if err := s.endMessage(); err != nil {
			return err
		}
	}
}

// nextMessage waits for the client's next message, then for a MaxRate
// token for it: when there is none yet, it calls flush, if not nil, and
// waits until there is one or stop is closed. It counts the message and
// returns it behind c.msg, which counts its bytes and keeps the client's
// error, and for a text message behind c.text too, which checks its UTF-8.
func (c *peer) nextMessage(flush func(), stop <-chan struct{}) (*countingReader, error) {
	typ, msg, err := c.conn.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	if c.rate != nil {
		c.throttle(flush, stop)
	}
	c.conn.in.messages.Add(1)
	c.raw = msg
	r := &c.msg
	*r = countingReader{r: msg}
	if typ == websocket.MessageText {
		c.text = utf8Checker{r: msg}
		r.r = &c.text
	}
	return r, nil
}

// throttle is nextMessage's wait for a MaxRate token.
func (c *peer) throttle(flush func(), stop <-chan struct{}) {
	now := time.Now()
	d := c.rate.take(now)
	if d == 0 {
		return
	}
	until := now.Add(d)
	c.heldUntil.Store(until.UnixNano())
	if flush != nil {
		flush()
	}
	c.rate.wait(time.Until(until), stop)
}

// endMessage counts the bytes read of the message nextMessage returned
// and returns the client's error reading it, if any. A message that is
// not valid UTF-8 is first read to its end, so that the close handshake
// can read the client's answer.
func (c *peer) endMessage() error {
	c.conn.in.bytes.Add(c.msg.n)
	if errors.Is(c.msg.err, errInvalidUTF8) {
		io.Copy(io.Discard, c.raw)
	}
	return c.msg.err
}

// writeMessage copies one message into the stdin buffer and returns the
// error writing it; the message is read to its end either way. A message
// the client did not finish (one over the read limit, a broken
// connection) is taken back out of the buffer: the child gets none of
// it, unless it was longer than the buffer.
func (s *session) writeMessage(r *countingReader) error {
	s.writing.Store(true)
	defer s.writing.Store(false)
	start, flushes := s.stdin.n, s.stdin.flushes
	err := s.stdin.readFrom(r)
	if r.err != nil {
		// The client's error, not stdin's: pumpInput returns it.
		err = nil
		if s.stdin.flushes == flushes {
			s.stdin.n = start
		}
	}
	if err == nil && r.err == nil && !s.cfg.Binary && !s.cfg.RawInput {
		err = s.stdin.writeByte('\n')
	}
	if err != nil && r.err == nil {
		io.Copy(io.Discard, r)
	}
	return err
}

// flushStdin writes out the stdin buffer. It runs before every read from
// the network; while a message is being copied in (the lock is taken) it
// leaves the buffer to the next read.
func (s *session) flushStdin() {
	if !s.stdin.mu.TryLock() {
		return
	}
	defer s.stdin.mu.Unlock()
	if s.stdin.broken || s.stdin.buf == nil {
		return
	}
	s.writing.Store(true)
	s.stdin.broken = s.stdin.flush() != nil
	s.writing.Store(false)
}

// countingReader counts the bytes read through it and keeps the first
// error other than io.EOF, which is then the client's, not stdin's.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
