package bridge

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// frame builds a frame with a payload of n bytes, masked or not, in the
// shortest length encoding, as RFC 6455 asks.
func frame(opcode byte, n int, masked bool) []byte {
	var b bytes.Buffer
	b.WriteByte(0x80 | opcode)
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	switch {
	case n < 126:
		b.WriteByte(mask | byte(n))
	case n <= 0xffff:
		b.WriteByte(mask | 126)
		binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(mask | 127)
		binary.Write(&b, binary.BigEndian, uint64(n))
	}
	if masked {
		b.Write([]byte{1, 2, 3, 4})
	}
	// Payload bytes that look like headers, so that a tracker that lost
	// its place would not find it again by chance.
	b.Write(bytes.Repeat([]byte{0x81}, n))
	return b.Bytes()
}

// Whatever way the bytes come, between is true exactly where a frame
// ends.
func TestFramesBetween(t *testing.T) {
	var stream []byte
	ends := map[int]bool{0: true}
	for _, f := range [][]byte{
		frame(0x1, 5, true),
		frame(0xA, 0, true), // a pong with no payload
		frame(0x2, 125, true),
		frame(0x1, 126, true),
		frame(0x9, 4, false),
		frame(0x2, 300, true),
		frame(0x2, 0xffff, true),
		frame(0x2, 0x10000, true),
		frame(0x1, 1, false),
	} {
		stream = append(stream, f...)
		ends[len(stream)] = true
	}
	for _, size := range []int{1, 2, 3, 7, 13, 1024, len(stream)} {
		var f frames
		for at := 0; at < len(stream); {
			n := min(size, len(stream)-at)
			f.feed(stream[at : at+n])
			at += n
			if f.between() != ends[at] {
				t.Fatalf("reads of %d bytes: after %d bytes between() = %v, want %v", size, at, f.between(), ends[at])
			}
		}
	}
	// Byte by byte, every place is checked.
	var f frames
	for at := range stream {
		f.feed(stream[at : at+1])
		if f.between() != ends[at+1] {
			t.Fatalf("byte by byte: after %d bytes between() = %v, want %v", at+1, f.between(), ends[at+1])
		}
	}
}
