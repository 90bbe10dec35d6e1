//go:build unix

package process

import (
	"io"
	"strconv"
	"testing"
	"time"

	"wsbridge/process/proctest"
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
			proctest.Eventually(t, 10*time.Second, proctest.Received(waited, "WaitRead to see the child's output"))
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
			proctest.Eventually(t, 10*time.Second, proctest.Received(waited, "WaitRead to see the end of stdout"))
			if _, err := io.ReadAll(stdout); err != nil {
				t.Fatal(err)
			}
			// After the end, it returns at once.
			stdout.WaitRead()
		})
	}
}

func TestWaitReadFor(t *testing.T) {
	p := startHelper(t, Config{PTY: true}, "cat")
	stdout := p.Stdout().(*stream)
	start := time.Now()
	if stdout.WaitReadFor(50 * time.Millisecond) {
		t.Fatal("WaitReadFor reported output before the child wrote any")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("WaitReadFor gave up after %v, before its 50ms", d)
	}
	// The deadline it waited by is gone: the output that comes later is
	// waited for and read as ever.
	go func() {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(p.Stdin(), "x\n")
	}()
	if !stdout.WaitReadFor(10 * time.Second) {
		t.Fatal("WaitReadFor missed the child's output")
	}
	var buf [16]byte
	if n, err := stdout.Read(buf[:]); err != nil || string(buf[:n]) != "x\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if stdout.WaitReadFor(time.Millisecond) {
		t.Fatal("WaitReadFor reported output that was read already")
	}
	io.WriteString(p.Stdin(), "y\n")
	stdout.WaitRead()
	if n, err := stdout.Read(buf[:]); err != nil || string(buf[:n]) != "y\n" {
		t.Fatalf("Read after a wait that timed out = %q, %v", buf[:n], err)
	}
}
