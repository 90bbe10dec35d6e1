package bridge

import (
	"bytes"
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
// reach the child in one write. Only whole messages are written out, but
// for a binary message longer than the buffer, which goes out a buffer at
// a time; a text message longer than the buffer is held whole apart and
// written out in one write once it has all come. The input pump copies a
// message in without mu while it reads it from the network, so that the
// whole messages before it can be written out meanwhile (see flushStdin).
type stdin struct {
	mu      sync.Mutex
	w       io.Writer
	buf     *[stdinBufferSize]byte // from stdinBuffers, nil when empty
	off     int                    // bytes of buf written out already
	mark    int                    // end of the whole messages in buf; the one being copied in follows
	n       int                    // bytes of buf in use
	filling bool                   // the input pump reads into buf[n:], without mu
	broken  bool                   // the child exited or closed its stdin
}

// copyMessage copies the message r into the buffer, followed by a newline
// if newline is set, and reads it to its end. With whole set (text mode)
// the child gets all of the message or, if the client does not finish it,
// none of it; otherwise (binary mode) it gets what was read before the
// client's error of a message longer than the buffer. Once a write to the
// child fails, stdin is broken and messages are read and dropped. The
// client's error reading r is the caller's to see.
func (in *stdin) copyMessage(r io.Reader, whole, newline bool) {
	in.mu.Lock()
	if in.broken {
		in.mu.Unlock()
		io.Copy(io.Discard, r)
		return
	}
	spilled := false // the start of the message was written out
	for {
		if in.buf == nil {
			in.buf = stdinBuffers.Get().(*[stdinBufferSize]byte)
		}
		if in.n == len(in.buf) {
			switch {
			case in.off > 0:
				in.n = copy(in.buf[:], in.buf[in.off:in.n])
				in.mark -= in.off
				in.off = 0
			case whole:
				in.copyLong(r, newline)
				return
			default:
				in.mark, spilled = in.n, true
				if in.flushLocked() != nil {
					in.fail(r)
					return
				}
			}
			continue
		}
		p := in.buf[in.n:]
		in.filling = true
		in.mu.Unlock()
		k, err := r.Read(p)
		in.mu.Lock()
		in.filling = false
		in.n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			// The client's: what was read of the message is
			// taken back, unless some of it went out already.
			if spilled {
				in.mark = in.n
			}
			in.n = in.mark
			in.mu.Unlock()
			return
		}
	}
	if newline {
		if in.n == len(in.buf) {
			in.mark = in.n
			if in.flushLocked() != nil {
				in.mu.Unlock()
				return
			}
			in.buf = stdinBuffers.Get().(*[stdinBufferSize]byte)
		}
		in.buf[in.n] = '\n'
		in.n++
	}
	in.mark = in.n
	in.mu.Unlock()
}

// copyLong goes on with copyMessage for a text message that outgrew the
// buffer, whose start is buf[mark:n], with mu held, which it releases: the
// start moves to a buffer of its own, the whole messages before it are
// written out, the rest of the message is read in, and the message goes
// to the child in one write once it has all come, or not at all.
func (in *stdin) copyLong(r io.Reader, newline bool) {
	msg := bytes.NewBuffer(make([]byte, 0, 2*stdinBufferSize))
	msg.Write(in.buf[in.mark:in.n])
	in.n = in.mark
	if in.flushLocked() != nil {
		in.fail(r)
		return
	}
	in.mu.Unlock()
	if _, err := msg.ReadFrom(r); err != nil {
		return // the client's
	}
	if newline {
		msg.WriteByte('\n')
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.broken {
		_, err := in.w.Write(msg.Bytes())
		in.broken = err != nil
	}
}

// fail follows a failed write to the child, with mu held, which it
// releases: it reads the rest of the message r and drops it.
func (in *stdin) fail(r io.Reader) {
	in.mu.Unlock()
	io.Copy(io.Discard, r)
}

// flushLocked writes out the whole messages in the buffer, and gives the
// buffer back to the pool once nothing else is in it. mu is held.
func (in *stdin) flushLocked() error {
	if in.buf == nil {
		return nil
	}
	var err error
	if in.mark > in.off {
		_, err = in.w.Write(in.buf[in.off:in.mark])
		in.off = in.mark
		in.broken = err != nil
	}
	if in.n == in.mark && !in.filling {
		stdinBuffers.Put(in.buf)
		in.buf = nil
		in.off, in.mark, in.n = 0, 0, 0
	}
	return err
}

// pumpInput writes each client message to the child's stdin, followed by
// a newline in text mode without RawInput, until the client goes; it
// returns why, or errQuiet when it rests (see readInput). While the child
// does not read, the buffer is not written out, the socket is not read,
// and the client is slowed by TCP rather than buffered; so too while a
// message waits for MaxRate. A text message that is not valid UTF-8 ends
// the session, and reaches the child in no part. Once stdin is broken,
// messages are read and dropped, so that control frames are still
// answered.
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
		s.writeMessage(r)
		if err := s.endMessage(); err != nil {
			return err
		}
	}
}

// nextMessage waits for the client's next message, then for a MaxRate
// token for it: when there is none yet, it calls flush, if not nil, and
// waits until there is one or stop is closed. It counts the message and
// returns it behind c.msg, which counts its bytes and keeps the client's
// error, for a text message behind c.text too, which checks its UTF-8,
// and behind c.verified, which drops what the library could not unmask.
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
	c.verified = verifiedReader{r: msg}
	r := &c.msg
	*r = countingReader{r: &c.verified}
	if typ == websocket.MessageText {
		c.text = utf8Checker{r: &c.verified}
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

// writeMessage copies one message into the stdin buffer, followed by a
// newline in text mode without RawInput; the message is read to its end
// either way. In text mode a message the client did not finish (one over
// the read limit, a broken connection, invalid UTF-8) reaches the child in
// no part; in binary mode, only what was read of it before the error,
// when it was longer than the buffer.
func (s *session) writeMessage(r io.Reader) {
	s.writing.Store(true)
	defer s.writing.Store(false)
	s.stdin.copyMessage(r, !s.cfg.Binary, !s.cfg.Binary && !s.cfg.RawInput)
}

// flushStdin writes out the whole messages in the stdin buffer. It runs
// before every read from the network, the input pump's in the middle of a
// message included: a whole message is not held back by the next one,
// which may take the client any time to finish. While another goroutine
// writes the buffer out, it leaves it to that one.
func (s *session) flushStdin() {
	in := &s.stdin
	if !in.mu.TryLock() {
		return
	}
	defer in.mu.Unlock()
	if in.broken || in.buf == nil {
		return
	}
	was := s.writing.Swap(true)
	in.flushLocked()
	s.writing.Store(was)
}

// empty reports whether nothing is buffered for the child and nothing is
// being written to it.
func (in *stdin) empty() bool {
	if !in.mu.TryLock() {
		return false
	}
	defer in.mu.Unlock()
	return in.broken || in.buf == nil
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

// verifiedReader reads a client's message and drops the bytes that come
// with an error: those of a frame the connection cut short, which the
// library returns as they came, still masked.
type verifiedReader struct {
	r io.Reader
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err != nil && err != io.EOF {
		n = 0
	}
	return n, err
}
