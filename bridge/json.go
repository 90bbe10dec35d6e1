package bridge

import (
	"unicode/utf8"
)

// JSON framing for --passstderr: every line goes out as
// {"stream":"stdout","data":"..."} or {"stream":"stderr","data":"..."}.
const (
	stdoutPrefix = `{"stream":"stdout","data":"`
	stderrPrefix = `{"stream":"stderr","data":"`
	jsonSuffix   = `"}`
)

// appendJSONString appends p, valid UTF-8, escaped to go between the quotes
// of a JSON string.
func appendJSONString(dst, p []byte) []byte {
	const hex = "0123456789abcdef"
	for len(p) > 0 {
		b := p[0]
		if b >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(p)
			if r == '\u2028' || r == '\u2029' {
				// Valid JSON, but not valid JavaScript before ES2019.
				dst = append(dst, `\u202`...)
				dst = append(dst, hex[r&0xf])
			} else {
				dst = append(dst, p[:size]...)
			}
			p = p[size:]
			continue
		}
		switch {
		case b == '"' || b == '\\':
			dst = append(dst, '\\', b)
		case b == '\n':
			dst = append(dst, `\n`...)
		case b == '\r':
			dst = append(dst, `\r`...)
		case b == '\t':
			dst = append(dst, `\t`...)
		case b < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
		default:
			dst = append(dst, b)
		}
		p = p[1:]
	}
	return dst
}
