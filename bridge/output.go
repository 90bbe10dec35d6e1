package bridge

import (
	"context"
	"io"
	"time"

	"github.com/coder/websocket"
)

// How much of the child's stdout is read at once. In text mode stdout is
// usually a pseudo-terminal, which hands out at most about 4 KiB a read
// anyway. The buffers are pooled (see readChunks).
const (
	textReadSize   = 4 << 10
	binaryReadSize = 32 << 10
)

// pumpOutput sends what the child writes on stdout to the client until
// stdout reaches EOF, in the background, then calls done: one text
// message per line, or in binary mode one binary message per read. While
// the client does not read, the child's stdout is not read either, so the
// child blocks on its own write. If sending fails the client is lost and
// the rest of stdout is dropped, so the child is not left blocked.
func (s *session) pumpOutput(done func()) {
	stdout := s.child.Stdout()
	pieces := pieceWriter{conn: s.conn}
	var send func([]byte) error
	var flush func() error
	buffers := textReadBuffers
	if s.cfg.Binary {
		send = func(p []byte) error { return pieces.send(websocket.MessageBinary, p, true) }
		flush = func() error { return nil }
		buffers = binaryReadBuffers
	} else {
		m := &messageWriter{pieces: pieces}
		if s.cfg.PassStderr {
			m.prefix = stdoutPrefix
		}
		lines := &lineSplitter{emit: m.emit}
		send, flush = lines.write, lines.flush
	}

	use := func(p []byte) error {
		// The lines of one read leave in one write.
		s.conn.wire.holdWrites()
		err := send(p)
		if rerr := s.conn.wire.release(); err == nil {
			err = rerr
		}
		s.sentAt.Store(time.Now().UnixNano())
		return err
	}
	pumpChunks(stdout, buffers, use, func(err error) {
		if err == nil {
			err = flush()
		}
		if err != nil {
			s.clientLost()
			io.Copy(io.Discard, stdout)
		}
		done()
	})
}

// messageWriter sends lines as text messages, a long line as one message
// in several frames; with a prefix, each wrapped in a JSON object that
// starts with it.
type messageWriter struct {
	pieces pieceWriter
	prefix string // stdoutPrefix or stderrPrefix; empty for no JSON
	json   []byte // the JSON of the line so far, not yet sent
	open   bool   // json holds the start of a line
}

// emit sends p, a line or a piece of one, the last when final. With a
// prefix, the JSON of pieces is held until it reaches maxPending, as a
// line is before it goes out in pieces.
func (m *messageWriter) emit(p []byte, final bool) error {
	if m.prefix == "" {
		return m.pieces.send(websocket.MessageText, p, final)
	}
	if !m.open {
		m.json = append(m.json[:0], m.prefix...)
		m.open = true
	}
	m.json = appendJSONString(m.json, p)
	if !final && len(m.json) < maxPending {
		return nil
	}
	if final {
		m.json = append(m.json, jsonSuffix...)
		m.open = false
	}
	err := m.pieces.send(websocket.MessageText, m.json, final)
	m.json = m.json[:0]
	if final && cap(m.json) > textReadSize {
		m.json = nil
	}
	return err
}

// pieceWriter sends messages to a client whole, or a piece at a time
// when a message is longer than one read, counting them as they go.
type pieceWriter struct {
	conn *Conn
	w    io.WriteCloser // the message being sent in pieces, if any
}

// send sends p as a whole message of type typ, or as a piece of one, the
// last when final.
func (pw *pieceWriter) send(typ websocket.MessageType, p []byte, final bool) error {
	ctx := context.Background()
	if pw.w == nil && final {
		pw.conn.out.message(int64(len(p)))
		return pw.conn.Write(ctx, typ, p)
	}
	if pw.w == nil {
		w, err := pw.conn.Writer(ctx, typ)
		if err != nil {
			return err
		}
		pw.w = w
		pw.conn.out.messages.Add(1)
	}
	pw.conn.out.bytes.Add(int64(len(p)))
	if _, err := pw.w.Write(p); err != nil {
		return err
	}
	if final {
		w := pw.w
		pw.w = nil
		return w.Close()
	}
	return nil
}
