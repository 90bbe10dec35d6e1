package readwatch

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"wsbridge/process/proctest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("wsbridge/process/readwatch.(*readPoller).run"))
}

// A connection is watched as a stream is: told of once per NotifyRead,
// when it has something to read; End tells a pending NotifyRead, and any
// later one, so that a reader parked on a connection being closed
// learns of it.
func TestWatchConn(t *testing.T) {
	server, client := proctest.TCPPair(t)
	w := New(server)
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
		proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of the client's byte"))
		quiet("notified twice")
		var b [1]byte
		if _, err := server.Read(b[:]); err != nil || b[0] != 'a'+byte(i) {
			t.Fatalf("Read = %q, %v", b[:], err)
		}
	}

	w.NotifyRead(notify)
	w.End()
	proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of the ended watch"))
	quiet("notified again")
	// The ended watch's entry is gone: bytes sent now tell no one.
	client.Write([]byte("late"))
	quiet("notified after End")
	w.NotifyRead(notify)
	proctest.Eventually(t, 10*time.Second, proctest.Received(notified, "the notice of NotifyRead after End"))
}

// A wait on a watch allocates nothing, so that a session that rests
// between messages makes no garbage doing so.
func TestNotifyReadAllocatesNothing(t *testing.T) {
	wait := readyWait(t)
	if n := testing.AllocsPerRun(100, wait); n > 0 {
		t.Fatalf("a wait allocates %.1f times", n)
	}
}

// BenchmarkNotifyRead measures one wait of a Watch on a connection
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
	server, client := proctest.TCPPair(t)
	client.Write([]byte("x"))
	w := New(server)
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
