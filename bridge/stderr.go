package bridge

import (
	"bytes"
	"io"
)

// stderrReadSize is how much of the child's stderr is read at once: it is
// read for the log, where little goes.
const stderrReadSize = 512

// maxStderrLine is the longest stderr line logged whole; longer ones are
// logged in pieces of about this size.
const maxStderrLine = 4 << 10

// pumpStderr passes each line of the child's stderr to Config.Stderr until
// EOF, and with PassStderr sends it to the client too, in the background;
// then it calls done. It keeps the last line that is not blank in
// s.lastErr. A line is sent as one message, whatever its length, held up
// to the same size as a line of stdout and sent in pieces past it; it is
// logged in pieces of about maxStderrLine. A client that cannot be sent to
// any more does not stop the logging.
func (s *session) pumpStderr(done func()) {
	sending := s.cfg.PassStderr
	m := &messageWriter{pieces: pieceWriter{conn: s.conn}, prefix: stderrPrefix}
	lines := stderrSplitter(func(line []byte, first, final bool) {
		if first {
			s.lastErr = keepLine(s.lastErr, line)
		}
		if s.cfg.Stderr != nil && (first || len(line) > 0) {
			s.cfg.Stderr(line)
		}
		if sending {
			sending = m.emit(line, final) == nil
		}
	})
	pumpChunks(s.child.Stderr(), stderrReadBuffers, lines.write, func(error) {
		lines.flush()
		done()
	})
}

// stderrLines reads r until it ends and passes each line to each, a line
// longer than maxStderrLine in pieces of about that size, first set for
// the first piece only.
func stderrLines(r io.Reader, each func(line []byte, first bool)) {
	lines := stderrSplitter(func(line []byte, first, final bool) {
		if first || len(line) > 0 {
			each(line, first)
		}
	})
	readChunks(r, stderrReadBuffers, lines.write)
	lines.flush()
}

// stderrSplitter returns a lineSplitter that passes each line of stderr
// to each, without its newline, with first and final set; a line longer
// than maxStderrLine goes in pieces of about that size, first set for the
// first piece only and final for the last, which may then be empty. The
// slices passed are only valid during the call.
func stderrSplitter(each func(line []byte, first, final bool)) *lineSplitter {
	pieces := false // pieces of the current line went out already
	return &lineSplitter{max: maxStderrLine, emit: func(line []byte, final bool) error {
		first := !pieces
		pieces = !final
		each(line, first, final)
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
