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
// stdout reaches EOF: one text message per line, or in binary mode one
// binary message per read. While the client does not read, the child's
// stdout is not read either, so the child blocks on its own write. If
// sending fails the client is lost and the rest of stdout is dropped, so
// the child is not left blocked; the send error is returned at EOF.
func (s *session) pumpOutput() error {
	ctx := context.Background()
	stdout := s.child.Stdout()
	var send func([]byte) error
	var flush func() error
	buffers := textReadBuffers
	if s.cfg.Binary {
		send = func(p []byte) error { return s.send(ctx, websocket.MessageBinary, p) }
		flush = func() error { return nil }
		buffers = binaryReadBuffers
	} else {
		m := &messageWriter{s: s, ctx: ctx}
		lines := &lineSplitter{emit: m.emit}
		send, flush = lines.write, lines.flush
	}

	err := readChunks(stdout, buffers, func(p []byte) error {
		// The lines of one read leave in one write.
		s.conn.wire.holdWrites()
		err := send(p)
		if rerr := s.conn.wire.release(); err == nil {
			err = rerr
		}
		s.sentAt.Store(time.Now().UnixNano())
		return err
	})
	if err != nil {
		s.clientLost()
		io.Copy(io.Discard, stdout)
		return err
	}
	return flush()
}

// send sends p as one message.
func (s *session) send(ctx context.Context, typ websocket.MessageType, p []byte) error {
	s.out.messages++
	s.out.bytes += int64(len(p))
	return s.conn.Write(ctx, typ, p)
}

// messageWriter sends lines as text messages, a long line as one message
// in several frames; with PassStderr, each wrapped in a JSON object.
type messageWriter struct {
	s    *session
	ctx  context.Context
	w    io.WriteCloser // the message being sent in pieces, if any
	json []byte         // buffer for JSON framing
}

func (m *messageWriter) emit(p []byte, final bool) error {
	if m.s.cfg.PassStderr {
		if m.w == nil {
			m.json = append(m.json[:0], stdoutPrefix...)
		} else {
			m.json = m.json[:0]
		}
		m.json = appendJSONString(m.json, p)
		if final {
			m.json = append(m.json, jsonSuffix...)
		}
		p = m.json
	}
	if m.w == nil && final {
		return m.s.send(m.ctx, websocket.MessageText, p)
	}
	if m.w == nil {
		w, err := m.s.conn.Writer(m.ctx, websocket.MessageText)
		if err != nil {
			return err
		}
		m.w = w
		m.s.out.messages++
	}
	m.s.out.bytes += int64(len(p))
	if _, err := m.w.Write(p); err != nil {
		return err
	}
	if final {
		w := m.w
		m.w = nil
		return w.Close()
	}
	return nil
}
