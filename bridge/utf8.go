package bridge

import "unicode/utf8"

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
