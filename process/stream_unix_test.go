//go:build unix

package process

import (
	"io"
	"strconv"
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
