package bridge

import "encoding/binary"

// frames follows the frames in the bytes a client sends, to tell whether
// those read so far end with a whole frame: a reader that finds nothing
// more to read there is between frames, not inside one.
type frames struct {
	left   uint64   // payload bytes of the current frame still to come
	header [14]byte // the current frame's header, as much as has come
	n      int      // bytes of the header so far; 0 between headers
}

// between reports whether the bytes fed so far end with a whole frame.
func (f *frames) between() bool { return f.n == 0 && f.left == 0 }

// feed follows p, the next bytes the client sent.
func (f *frames) feed(p []byte) {
	for len(p) > 0 {
		if f.left > 0 {
			k := uint64(len(p))
			if k > f.left {
				k = f.left
			}
			f.left -= k
			p = p[k:]
			continue
		}
		f.header[f.n] = p[0]
		f.n++
		p = p[1:]
		if f.n >= 2 && f.n == headerSize(f.header[1]) {
			f.left = payloadLength(f.header[:f.n])
			f.n = 0
		}
	}
}

// headerSize is the size of a frame header whose second byte is b:
// RFC 6455, section 5.2.
func headerSize(b byte) int {
	size := 2
	switch b & 0x7f {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b&0x80 != 0 {
		size += 4 // the masking key
	}
	return size
}

// payloadLength is the payload length a whole frame header gives.
func payloadLength(h []byte) uint64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		return binary.BigEndian.Uint64(h[2:])
	default:
		return uint64(n)
	}
}
