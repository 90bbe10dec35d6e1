package process

import (
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

func TestNotifyRead(t *testing.T) {
	for _, pty := range []bool{false, true} {
		t.Run("pty="+strconv.FormatBool(pty), func(t *testing.T) {
			p := startHelper(t, Config{PTY: pty}, "cat")
			stdout := p.Stdout().(*stream)
			notified := make(chan struct{}, 1)
			notify := func() { notified <- struct{}{} }

			stdout.NotifyRead(notify)
			select {
			case <-notified:
				t.Fatal("notified before the child wrote anything")
			case <-time.After(100 * time.Millisecond):
			}
			io.WriteString(p.Stdin(), "x\n")
			proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of the child's output"))
			var buf [16]byte
			if n, err := stdout.Read(buf[:]); err != nil || string(buf[:n]) != "x\n" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}

			// Armed again, it tells of the next output, once.
			stdout.NotifyRead(notify)
			io.WriteString(p.Stdin(), "y\n")
			proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of the second output"))
			select {
			case <-notified:
				t.Fatal("notified twice")
			case <-time.After(50 * time.Millisecond):
			}
			// Data already there is told of at once.
			stdout.NotifyRead(notify)
			proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of output already there"))
			if n, err := stdout.Read(buf[:]); err != nil || string(buf[:n]) != "y\n" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}

			// The end of the stream is told of too.
			stdout.NotifyRead(notify)
			p.Stdin().Close()
			proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of the end of stdout"))
			if rest, err := io.ReadAll(stdout); err != nil || len(rest) != 0 {
				t.Fatalf("after the end: %q, %v", rest, err)
			}
			// After the end, at once.
			stdout.NotifyRead(notify)
			proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of an ended stream"))
		})
	}
}

// A stream closed while a reader waits for it, as one that something
// outside the child's group holds open is, tells that reader, whose Read
// then ends.
func TestNotifyReadOfClosedStream(t *testing.T) {
	p := startHelper(t, Config{}, "cat")
	stderr := p.Stderr().(*stream)
	notified := make(chan struct{}, 1)
	stderr.NotifyRead(func() { notified <- struct{}{} })
	stderr.Close()
	proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of the closed stream"))
	var buf [16]byte
	if n, err := stderr.Read(buf[:]); n != 0 || err != io.EOF {
		t.Fatalf("Read after Close = %d, %v; want 0, EOF", n, err)
	}
}

// Many streams wait at once with no goroutine each, and each is told of
// its own output only.
func TestNotifyReadManyStreams(t *testing.T) {
	const n = 20
	procs := make([]*Process, n)
	notified := make(chan int, n)
	for i := range procs {
		procs[i] = startHelper(t, Config{}, "cat")
	}
	before := runtime.NumGoroutine()
	for i, p := range procs {
		p.Stdout().(*stream).NotifyRead(func() { notified <- i })
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines more for %d streams waiting", after-before, n)
	}
	for _, i := range []int{7, 3, 19} {
		io.WriteString(procs[i].Stdin(), "x\n")
		select {
		case got := <-notified:
			if got != i {
				t.Fatalf("stream %d told of, want %d", got, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("stream %d never told of", i)
		}
	}
	select {
	case got := <-notified:
		t.Fatalf("stream %d told of with nothing to read", got)
	case <-time.After(50 * time.Millisecond):
	}
}
