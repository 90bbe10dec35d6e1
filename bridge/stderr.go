package bridge

import (
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
// then it calls done. A client that cannot be sent to any more does not
// stop the logging.
func (s *session) pumpStderr(done func()) {
	stderr := s.child.Stderr()
	if s.cfg.Stderr == nil && !s.cfg.PassStderr {
		pumpChunks(stderr, stderrReadBuffers, discard, func(error) { done() })
		return
	}
	var msg []byte
	sending := s.cfg.PassStderr
	lines := stderrSplitter(func(line []byte) {
		if s.cfg.Stderr != nil {
			s.cfg.Stderr(line)
		}
		if sending {
			msg = append(msg[:0], stderrPrefix...)
			msg = appendJSONString(msg, line)
			msg = append(msg, jsonSuffix...)
			s.errOut.messages++
			s.errOut.bytes += int64(len(msg))
			sending = s.conn.Write(context.Background(), websocket.MessageText, msg) == nil
		}
	})
	pumpChunks(stderr, stderrReadBuffers, lines.write, func(error) {
		lines.flush()
		done()
	})
}

// discard uses a chunk by dropping it.
func discard([]byte) error { return nil }

// stderrLines reads r until it ends and passes each line to each, as
// stderrSplitter does.
func stderrLines(r io.Reader, each func(line []byte)) {
	lines := stderrSplitter(each)
	readChunks(r, stderrReadBuffers, lines.write)
	lines.flush()
}

// stderrSplitter returns a lineSplitter that passes each line of stderr
// to each, without its newline; a line longer than maxStderrLine goes in
// pieces of about that size. The slices passed are only valid during the
// call.
func stderrSplitter(each func(line []byte)) *lineSplitter {
	pieces := false // pieces of the current line went out already
	return &lineSplitter{max: maxStderrLine, emit: func(line []byte, final bool) error {
		if final && len(line) == 0 && pieces {
			// The end of a long line that was all passed on.
			pieces = false
			return nil
		}
		pieces = !final
		each(line)
		return nil
	}}
}
