package bridge

import (
	"bytes"
	"unicode/utf8"
)

// maxPending is how much of an unterminated line is held, by default,
// before it is sent on as a fragment of a longer message.
const maxPending = 64 << 10

// lineSplitter cuts a byte stream into lines. Each line goes to emit
// without its "\n" or "\r\n" and repaired to valid UTF-8. A line longer
// than max (maxPending when zero) goes out in several pieces, each ending
// on a whole rune; the last piece of a line is marked final.
type lineSplitter struct {
	emit    func(p []byte, final bool) error
	max     int
	pending []byte // the start of a line not yet terminated
	open    bool   // pieces of the current line were emitted already
}

// write splits p into lines. The slices passed to emit are only valid
// during the call.
func (s *lineSplitter) write(p []byte) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.pending = append(s.pending, p...)
			if len(s.pending) >= s.limit() {
				return s.emitPiece()
			}
			return nil
		}
		line := p[:i]
		p = p[i+1:]
		if len(s.pending) > 0 {
			s.pending = append(s.pending, line...)
			line = s.pending
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if err := s.emit(validUTF8(line), true); err != nil {
			return err
		}
		s.release()
	}
	return nil
}

// limit is how much of a line is held before a piece is emitted.
func (s *lineSplitter) limit() int {
	if s.max > 0 {
		return s.max
	}
	return maxPending
}

// release empties pending, and lets go of a buffer a long line grew.
func (s *lineSplitter) release() {
	s.pending = s.pending[:0]
	if cap(s.pending) > textReadSize {
		s.pending = nil
	}
	s.open = false
}

// flush emits what is left of an unterminated last line.
func (s *lineSplitter) flush() error {
	if len(s.pending) == 0 && !s.open {
		return nil
	}
	err := s.emit(validUTF8(s.pending), true)
	s.release()
	return err
}

// emitPiece emits the pending bytes as a non-final piece, keeping back a
// trailing "\r" (the next byte may be "\n") and an incomplete rune (its
// other bytes may follow).
func (s *lineSplitter) emitPiece() error {
	n := len(s.pending)
	if s.pending[n-1] == '\r' {
		n--
	}
	n -= incompleteRune(s.pending[:n])
	if err := s.emit(validUTF8(s.pending[:n]), false); err != nil {
		return err
	}
	s.open = true
	s.pending = s.pending[:copy(s.pending, s.pending[n:])]
	return nil
}

// incompleteRune returns the length of the start of a multi-byte UTF-8
// sequence at the end of p that more bytes could still complete, or 0.
func incompleteRune(p []byte) int {
	for i := 1; i < utf8.UTFMax && i <= len(p); i++ {
		b := p[len(p)-i]
		if utf8.RuneStart(b) {
			if b >= utf8.RuneSelf && !utf8.FullRune(p[len(p)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}
