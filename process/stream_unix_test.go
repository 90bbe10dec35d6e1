//go:build unix

package process

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWaitRead(t *testing.T) {
	for _, pty := range []bool{false, true} {
		t.Run("pty="+strconv.FormatBool(pty), func(t *testing.T) {
			p := startHelper(t, Config{PTY: pty}, "cat")
			stdout := p.Stdout().(*stream)
			waited := make(chan struct{})
			go func() {
				stdout.WaitRead()
				close(waited)
			}()
			select {
			case <-waited:
				t.Fatal("WaitRead returned before the child wrote anything")
			case <-time.After(100 * time.Millisecond):
			}
			io.WriteString(p.Stdin(), "x\n")
			waitFor(t, waited, "WaitRead to see the child's output")
			// Data already there is seen at once, as often as asked.
			stdout.WaitRead()
			stdout.WaitRead()

			var buf [16]byte
			if n, err := stdout.Read(buf[:]); err != nil || string(buf[:n]) != "x\n" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}
			p.Stdin().Close()
			waited = make(chan struct{})
			go func() {
				stdout.WaitRead()
				close(waited)
			}()
			waitFor(t, waited, "WaitRead to see the end of stdout")
			if _, err := io.ReadAll(stdout); err != nil {
				t.Fatal(err)
			}
			// After the end, it returns at once.
			stdout.WaitRead()
		})
	}
}

func waitFor(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
	}
}

// buffers hands out and takes back ReadFor's buffers, and counts them.
type buffers struct {
	size       int
	got, put   int
	last       []byte
	wrongGiven int // buffers given back that were not the last handed out
}

func (b *buffers) get() []byte {
	b.got++
	b.last = make([]byte, b.size)
	return b.last
}

func (b *buffers) give(p []byte) {
	if &p[0] != &b.last[0] {
		b.wrongGiven++
	}
	b.put++
}

func TestReadFor(t *testing.T) {
	for _, pty := range []bool{false, true} {
		t.Run("pty="+strconv.FormatBool(pty), func(t *testing.T) {
			p := startHelper(t, Config{PTY: pty}, "cat")
			stdout := p.Stdout().(*stream)
			bufs := &buffers{size: 16}
			read := func(d time.Duration) (string, error) {
				t.Helper()
				before := bufs.got - bufs.put
				n, err := stdout.ReadFor(d, bufs.get, bufs.give)
				want := before
				if n > 0 {
					want++ // the caller's
				}
				if held := bufs.got - bufs.put; held != want || bufs.wrongGiven > 0 {
					t.Fatalf("ReadFor returned %d bytes: buffers held went from %d to %d; %d given back were not the last handed out",
						n, before, held, bufs.wrongGiven)
				}
				return string(bufs.last[:n]), err
			}

			start := time.Now()
			if got, err := read(50 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadFor before the child wrote = %q, %v, want os.ErrDeadlineExceeded", got, err)
			}
			if d := time.Since(start); d < 50*time.Millisecond {
				t.Fatalf("ReadFor gave up after %v, before its 50ms", d)
			}
			// The deadline it waited by is gone: output that comes later
			// is waited for and read as ever.
			go func() {
				time.Sleep(50 * time.Millisecond)
				io.WriteString(p.Stdin(), "x\n")
			}()
			if got, err := read(10 * time.Second); got != "x\n" || err != nil {
				t.Fatalf("ReadFor = %q, %v, want the child's output", got, err)
			}
			if got, err := read(time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadFor after all was read = %q, %v, want os.ErrDeadlineExceeded", got, err)
			}
			io.WriteString(p.Stdin(), "y\n")
			stdout.WaitRead()
			if got, err := stdout.Read(make([]byte, 16)); got != 2 || err != nil {
				t.Fatalf("Read after a wait that timed out = %d, %v", got, err)
			}
			// Output longer than a buffer is read by the next calls,
			// without a wait.
			io.WriteString(p.Stdin(), strings.Repeat("z", 39)+"\n")
			var long string
			for len(long) < 40 {
				got, err := read(10 * time.Second)
				if err != nil {
					t.Fatalf("ReadFor of a long line = %q, %v", got, err)
				}
				long += got
			}
			if long != strings.Repeat("z", 39)+"\n" {
				t.Fatalf("ReadFor read %q", long)
			}
			p.Stdin().Close()
			if got, err := read(10 * time.Second); err != io.EOF {
				t.Fatalf("ReadFor at the end = %q, %v, want io.EOF", got, err)
			}
			if got, err := read(time.Millisecond); err != io.EOF {
				t.Fatalf("ReadFor after the end = %q, %v, want io.EOF", got, err)
			}
		})
	}
}
