package bridge

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// FuzzLines feeds a stream to a lineSplitter in chunks of a fuzzed size,
// with a fuzzed limit, and checks the lines it makes against the stream
// cut at each "\n".
func FuzzLines(f *testing.F) {
	f.Fuzz(func(t *testing.T, input []byte, limit, chunk uint8) {
		max := 1 + int(limit%64)
		size := 1 + int(chunk%32)
		var lines [][]byte
		var cur []byte
		s := &lineSplitter{max: max, emit: func(p []byte, final bool) error {
			if !utf8.Valid(p) {
				t.Fatalf("piece %q is not valid UTF-8", p)
			}
			cur = append(cur, p...)
			if final {
				lines = append(lines, cur)
				cur = nil
			}
			return nil
		}}
		for p := input; len(p) > 0; {
			n := min(size, len(p))
			if err := s.write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
			// What is held back is bounded by the limit, bar a "\r"
			// and the start of a rune kept for the next write.
			if len(s.pending) >= max && len(s.pending) > utf8.UTFMax {
				t.Fatalf("%d bytes held with a limit of %d", len(s.pending), max)
			}
		}
		if err := s.flush(); err != nil {
			t.Fatal(err)
		}
		if cur != nil {
			t.Fatalf("unfinished line %q", cur)
		}

		want := bytes.Split(input, []byte("\n"))
		for i := range want[:len(want)-1] {
			// A "\r" before the "\n" is part of the terminator.
			want[i] = bytes.TrimSuffix(want[i], []byte("\r"))
		}
		if len(want[len(want)-1]) == 0 {
			// The stream ended with "\n", or was empty: no last line.
			want = want[:len(want)-1]
		}
		if len(lines) != len(want) {
			t.Fatalf("%d lines, want %d: %q", len(lines), len(want), lines)
		}
		for i, w := range want {
			if !bytes.Equal(lines[i], []byte(string([]rune(string(w))))) {
				t.Fatalf("line %d is %q, want %q repaired", i, lines[i], w)
			}
		}
		if utf8.Valid(input) {
			// Put back together with their terminators, the lines are the
			// stream, but for the "\r" of each "\r\n".
			joined := bytes.Join(lines, []byte("\n"))
			if bytes.HasSuffix(input, []byte("\n")) {
				joined = append(joined, '\n')
			}
			stripped := bytes.ReplaceAll(input, []byte("\r\n"), []byte("\n"))
			if !bytes.Equal(joined, stripped) {
				t.Fatalf("lines joined are %q, want %q", joined, stripped)
			}
		}
	})
}

// FuzzUTF8 checks the repair of outgoing text and the check of incoming
// text on any bytes, read in chunks of a fuzzed size.
func FuzzUTF8(f *testing.F) {
	f.Fuzz(func(t *testing.T, input []byte, chunk uint8) {
		valid := utf8.Valid(input)

		out := validUTF8(input)
		if !utf8.Valid(out) {
			t.Fatalf("validUTF8(%q) = %q, not valid", input, out)
		}
		if valid && !bytes.Equal(out, input) {
			t.Fatalf("validUTF8 changed valid %q into %q", input, out)
		}
		// Each byte that is not part of a valid sequence is one U+FFFD,
		// as a conversion to runes has it.
		if want := string([]rune(string(input))); string(out) != want {
			t.Fatalf("validUTF8(%q) = %q, want %q", input, out, want)
		}

		size := 1 + int(chunk%8)
		c := &utf8Checker{r: iotest.OneByteReader(bytes.NewReader(input))}
		if size > 1 {
			c.r = &chunkReader{r: bytes.NewReader(input), size: size}
		}
		got, err := io.ReadAll(c)
		switch {
		case valid && err != nil:
			t.Fatalf("checking valid %q: %v", input, err)
		case valid && !bytes.Equal(got, input):
			t.Fatalf("checking valid %q passed %q", input, got)
		case !valid && !errors.Is(err, errInvalidUTF8):
			t.Fatalf("checking invalid %q: %v", input, err)
		}
	})
}

// chunkReader reads at most size bytes at a time.
type chunkReader struct {
	r    io.Reader
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.size)])
}
