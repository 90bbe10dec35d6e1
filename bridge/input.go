package bridge

import (
	"bufio"
	"context"
	"io"
)

// stdinBufferSize is the size of the buffer between client messages and
// the child's stdin: a message and its newline usually reach the child in
// one write.
const stdinBufferSize = 32 << 10

// pumpInput writes each client message to the child's stdin, followed by
// a newline in text mode, until the client goes; it returns why. While the
// child does not read, it stops reading the socket, so the client is
// slowed by TCP rather than buffered. Once stdin is broken (the child
// exited or closed it) messages are read and dropped, so that control
// frames are still answered.
func (s *session) pumpInput(ctx context.Context) error {
	w := bufio.NewWriterSize(s.child.Stdin(), stdinBufferSize)
	broken := false
	for {
		_, msg, err := s.conn.Reader(ctx)
		if err != nil {
			return err
		}
		s.in.messages++
		r := &countingReader{r: msg}
		if broken {
			_, err = io.Copy(io.Discard, r)
		} else {
			s.writing.Store(true)
			broken = s.writeMessage(w, r) != nil
			s.writing.Store(false)
		}
		s.in.bytes += r.n
		if r.err != nil {
			return r.err
		}
		if err != nil {
			return err
		}
	}
}

// writeMessage copies one message to stdin and returns the error writing
// it; the message is read to its end either way.
func (s *session) writeMessage(w *bufio.Writer, r *countingReader) error {
	_, err := io.Copy(w, r)
	if err == nil && r.err == nil && !s.cfg.Binary {
		err = w.WriteByte('\n')
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil && r.err == nil {
		io.Copy(io.Discard, r)
	}
	return err
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
