package bridge

import (
	"errors"
	"io"
	"unicode/utf8"
)

// validUTF8 returns p if it is valid UTF-8, else a copy in which each byte
// that is not part of a valid sequence is replaced by U+FFFD, as a text
// frame requires (RFC 6455, section 8.1).
func validUTF8(p []byte) []byte {
	if utf8.Valid(p) {
		return p
	}
	out := make([]byte, 0, len(p)+8)
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, p[:size]...)
		}
		p = p[size:]
	}
	return out
}

// errInvalidUTF8 ends a session whose client sent a text message that is
// not valid UTF-8; the client is closed with 1007 (RFC 6455, section 8.1).
var errInvalidUTF8 = errors.New("invalid UTF-8 in a text message")

// utf8Checker reads a text message through, failing with errInvalidUTF8 at
// the first read that holds bytes which cannot be part of valid UTF-8, or
// at EOF after an unfinished rune. A rune may be split between reads: the
// start of one is held back until its other bytes are seen.
type utf8Checker struct {
	r    io.Reader
	tail [utf8.UTFMax]byte // the start of a rune the last read ended in
	n    int               // bytes of tail in use
}

func (c *utf8Checker) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		// Check the held start of a rune with the bytes that follow it,
		// then the rest of what was read.
		q := p[:n]
		for c.n > 0 && len(q) > 0 && !utf8.FullRune(c.tail[:c.n]) {
			c.tail[c.n] = q[0]
			c.n++
			q = q[1:]
		}
		if c.n > 0 && utf8.FullRune(c.tail[:c.n]) {
			if !utf8.Valid(c.tail[:c.n]) {
				return 0, errInvalidUTF8
			}
			c.n = 0
		}
		k := incompleteRune(q)
		if !utf8.Valid(q[:len(q)-k]) {
			return 0, errInvalidUTF8
		}
		c.n += copy(c.tail[c.n:], q[len(q)-k:])
	}
	if err == io.EOF && c.n > 0 {
		return 0, errInvalidUTF8
	}
	return n, err
}
