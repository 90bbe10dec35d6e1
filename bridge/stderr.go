package bridge

import (
	"bytes"
	"context"
	"io"

	"github.com/coder/websocket"
)

// stderrReadSize is how much of the child's stderr is read at once: it is
// read for the log, where little goes.
const stderrReadSize = 512

// maxStderrLine is the longest stderr line passed on whole; longer ones
// are passed on in pieces of about this size.
const maxStderrLine = 4 << 10

// pumpStderr passes each line of the child's stderr to Config.Stderr until
// EOF, and with PassStderr sends it to the client too, in the background;
// then it calls done. It keeps the last line that is not blank in
// s.lastErr. A client that cannot be sent to any more does not stop the
// logging.
func (s *session) pumpStderr(done func()) {
	var msg []byte
	sending := s.cfg.PassStderr
	lines := stderrSplitter(func(line []byte, first bool) {
		if first {
			s.lastErr = keepLine(s.lastErr, line)
		}
		if s.cfg.Stderr != nil {
			s.cfg.Stderr(line)
		}
		if sending {
			msg = append(msg[:0], stderrPrefix...)
			msg = appendJSONString(msg, line)
			msg = append(msg, jsonSuffix...)
			s.conn.out.message(int64(len(msg)))
			sending = s.conn.Write(context.Background(), websocket.MessageText, msg) == nil
		}
	})
	pumpChunks(s.child.Stderr(), stderrReadBuffers, lines.write, func(error) {
		lines.flush()
		done()
	})
}

// stderrLines reads r until it ends and passes each line to each, as
// stderrSplitter does.
func stderrLines(r io.Reader, each func(line []byte, first bool)) {
	lines := stderrSplitter(each)
	readChunks(r, stderrReadBuffers, lines.write)
	lines.flush()
}

// stderrSplitter returns a lineSplitter that passes each line of stderr
// to each, without its newline, with first set; a line longer than
// maxStderrLine goes in pieces of about that size, first set for the
// first piece only. The slices passed are only valid during the call.
func stderrSplitter(each func(line []byte, first bool)) *lineSplitter {
	pieces := false // pieces of the current line went out already
	return &lineSplitter{max: maxStderrLine, emit: func(line []byte, final bool) error {
		if final && len(line) == 0 && pieces {
			// The end of a long line that was all passed on.
			pieces = false
			return nil
		}
		first := !pieces
		pieces = !final
		each(line, first)
		return nil
	}}
}

// keepLine returns line, or as much of its start as a close reason can
// hold, in kept's memory, unless line is blank: then it returns kept.
func keepLine(kept, line []byte) []byte {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return kept
	}
	return append(kept[:0], line[:min(len(line), maxCloseReason)]...)
}
