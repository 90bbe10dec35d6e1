package process

import (
	"io"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"
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
			waitFor(t, notified, "the notice of the child's output")
			var buf [16]byte
			if n, err := stdout.Read(buf[:]); err != nil || string(buf[:n]) != "x\n" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}

			// Armed again, it tells of the next output, once.
			stdout.NotifyRead(notify)
			io.WriteString(p.Stdin(), "y\n")
			waitFor(t, notified, "the notice of the second output")
			select {
			case <-notified:
				t.Fatal("notified twice")
			case <-time.After(50 * time.Millisecond):
			}
			// Data already there is told of at once.
			stdout.NotifyRead(notify)
			waitFor(t, notified, "the notice of output already there")
			if n, err := stdout.Read(buf[:]); err != nil || string(buf[:n]) != "y\n" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}

			// The end of the stream is told of too.
			stdout.NotifyRead(notify)
			p.Stdin().Close()
			waitFor(t, notified, "the notice of the end of stdout")
			if rest, err := io.ReadAll(stdout); err != nil || len(rest) != 0 {
				t.Fatalf("after the end: %q, %v", rest, err)
			}
			// After the end, at once.
			stdout.NotifyRead(notify)
			waitFor(t, notified, "the notice of an ended stream")
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
	waitFor(t, notified, "the notice of the closed stream")
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

// A connection is watched as a stream is: told of once per NotifyRead,
// when it has something to read; End tells a pending NotifyRead, and any
// later one, so that a reader parked on a connection being closed
// learns of it.
func TestReadWatchConn(t *testing.T) {
	server, client := tcpPair(t)
	w := WatchRead(server)
	notified := make(chan struct{}, 2)
	notify := func() { notified <- struct{}{} }
	quiet := func(what string) {
		t.Helper()
		select {
		case <-notified:
			t.Fatal(what)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for i := range 3 {
		// The first NotifyRead adds the connection to the poller, the
		// later ones arm its entry again.
		if !w.NotifyRead(notify) {
			t.Fatal("NotifyRead could not watch a TCP connection")
		}
		quiet("notified before the client sent anything")
		client.Write([]byte{'a' + byte(i)})
		waitFor(t, notified, "the notice of the client's byte")
		quiet("notified twice")
		var b [1]byte
		if _, err := server.Read(b[:]); err != nil || b[0] != 'a'+byte(i) {
			t.Fatalf("Read = %q, %v", b[:], err)
		}
	}

	w.NotifyRead(notify)
	w.End()
	waitFor(t, notified, "the notice of the ended watch")
	quiet("notified again")
	// The ended watch's entry is gone: bytes sent now tell no one.
	client.Write([]byte("late"))
	quiet("notified after End")
	w.NotifyRead(notify)
	waitFor(t, notified, "the notice of NotifyRead after End")
}

// A wait on a watch allocates nothing, so that a session that rests
// between messages makes no garbage doing so.
func TestNotifyReadAllocatesNothing(t *testing.T) {
	wait := readyWait(t)
	if n := testing.AllocsPerRun(100, wait); n > 0 {
		t.Fatalf("a wait allocates %.1f times", n)
	}
}

// BenchmarkNotifyRead measures one wait of a ReadWatch on a connection
// that has something to read: armed, told, called.
func BenchmarkNotifyRead(b *testing.B) {
	wait := readyWait(b)
	b.ReportAllocs()
	for b.Loop() {
		wait()
	}
}

// readyWait returns a function that waits, with NotifyRead, for a
// connection that always has something to read.
func readyWait(t testing.TB) func() {
	server, client := tcpPair(t)
	client.Write([]byte("x"))
	w := WatchRead(server)
	t.Cleanup(w.End)
	told := make(chan struct{}, 1)
	tell := func() { told <- struct{}{} }
	return func() {
		if !w.NotifyRead(tell) {
			t.Fatal("NotifyRead could not watch a TCP connection")
		}
		<-told
	}
}

// tcpPair returns the two ends of a TCP connection on the loopback.
func tcpPair(t testing.TB) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); c.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}
