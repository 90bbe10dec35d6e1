package bridge

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// splitLines feeds input to a lineSplitter in chunks of the given size and
// returns the messages it makes, checking that every piece is valid UTF-8.
func splitLines(t *testing.T, input string, chunk int) []string {
	t.Helper()
	var msgs []string
	var cur bytes.Buffer
	s := &lineSplitter{emit: func(p []byte, final bool) error {
		if !utf8.Valid(p) {
			t.Fatalf("piece %q is not valid UTF-8", p)
		}
		cur.Write(p)
		if final {
			msgs = append(msgs, cur.String())
			cur.Reset()
		}
		return nil
	}}
	for p := []byte(input); len(p) > 0; {
		n := min(chunk, len(p))
		if err := s.write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := s.flush(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() != 0 {
		t.Fatalf("unfinished message %q", cur.String())
	}
	return msgs
}

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("é", maxPending) // two bytes a rune: pieces end mid-rune
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"one line", "hello\n", []string{"hello"}},
		{"two lines", "hello\nworld\n", []string{"hello", "world"}},
		{"crlf", "hello\r\nworld\r\n", []string{"hello", "world"}},
		{"lone cr kept", "a\rb\n", []string{"a\rb"}},
		{"empty lines", "\n\na\n\n", []string{"", "", "a", ""}},
		{"no final newline", "a\nlast", []string{"a", "last"}},
		{"only a newline", "\n", []string{""}},
		{"invalid utf-8", "a\xffb\n\xc3\n", []string{"a\ufffdb", "\ufffd"}},
		{"multi-byte", "héllo wörld ✓\n", []string{"héllo wörld ✓"}},
		{"long line", long + "\nafter\n", []string{long, "after"}},
		{"long line crlf", long + "\r\n", []string{long}},
		{"long line no newline", long, []string{long}},
		{"long line of newline-free invalid bytes", strings.Repeat("\xff", maxPending+1) + "\n", []string{strings.Repeat("\ufffd", maxPending+1)}},
	}
	for _, tc := range tests {
		for _, chunk := range []int{1, 3, 1000, maxPending + 7} {
			if chunk == 1 && len(tc.in) > 10000 {
				continue
			}
			got := splitLines(t, tc.in, chunk)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s, chunks of %d: got %q, want %q", tc.name, chunk, short(got), short(tc.want))
			}
		}
	}
}

func TestLineSplitterCRAtPieceEnd(t *testing.T) {
	// A "\r\n" that straddles the end of a piece is still one line end.
	line := strings.Repeat("x", maxPending-1)
	got := splitLines(t, line+"\r\nnext\n", maxPending)
	if want := []string{line, "next"}; !slices.Equal(got, want) {
		t.Fatalf("got %q", short(got))
	}
}

func TestLineSplitterBoundedMemory(t *testing.T) {
	// A 10 MB line goes through without the splitter holding it.
	var pieces int
	s := &lineSplitter{emit: func(p []byte, final bool) error {
		pieces++
		return nil
	}}
	chunk := bytes.Repeat([]byte("y"), binaryReadSize)
	for i := 0; i < 10<<20/len(chunk); i++ {
		if err := s.write(chunk); err != nil {
			t.Fatal(err)
		}
		if cap(s.pending) > 2*maxPending+binaryReadSize {
			t.Fatalf("pending grew to %d bytes", cap(s.pending))
		}
	}
	s.flush()
	if pieces < 10<<20/maxPending {
		t.Fatalf("only %d pieces", pieces)
	}
}

func TestValidUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"plain":             "plain",
		"\xff":              "\ufffd",
		"a\xff\xfeb":        "a\ufffd\ufffdb",
		"\xe2\x9c":          "\ufffd\ufffd",
		"ok ✓ \xed\xa0\x80": "ok ✓ \ufffd\ufffd\ufffd", // a surrogate is not valid UTF-8
	} {
		if got := string(validUTF8([]byte(in))); got != want {
			t.Errorf("validUTF8(%q) = %q, want %q", in, got, want)
		}
	}
}

// short abbreviates long strings for error messages.
func short(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		if len(v) > 40 {
			v = v[:20] + "…" + v[len(v)-20:]
		}
		out[i] = v
	}
	return out
}
