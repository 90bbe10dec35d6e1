//go:build unix

package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

// A wire reads its connection's descriptor itself: what one read brings
// is returned by the reads that follow, small or large, and the buffer
// it came in is given back once they have returned all of it.
func TestWireReadsDescriptor(t *testing.T) {
	server, client := proctest.TCPPair(t)
	w := newWire(server)
	if w.raw == nil {
		t.Fatal("the wire does not read the descriptor of a TCP connection")
	}
	sent := []byte(strings.Repeat("0123456789", 5000))
	go client.Write(sent)

	var got []byte
	small := make([]byte, 3)
	large := make([]byte, 2*wireReadSize)
	for i := 0; len(got) < len(sent); i++ {
		p := small
		if i%2 == 1 {
			p = large
		}
		n, err := w.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, sent) {
		t.Fatalf("read %d bytes unlike the %d sent", len(got), len(sent))
	}
	if w.in != nil {
		t.Fatal("the wire keeps its read buffer with nothing left in it")
	}

	w.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := w.Read(small)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read past its deadline returned %v", err)
	}
	w.SetReadDeadline(time.Time{})
	if w.in != nil {
		t.Fatal("the wire keeps its read buffer after a read that timed out")
	}

	client.Close()
	if _, err := w.Read(small); err != io.EOF {
		t.Fatalf("a read of a connection closed by the client returned %v, not EOF", err)
	}
}

// A connection reset by the client is a network error, as from the
// connection's own Read: the session ends with 1006, not as if the
// client broke the protocol.
func TestWireReadOfResetConnection(t *testing.T) {
	server, client := proctest.TCPPair(t)
	w := newWire(server)
	client.SetLinger(0)
	client.Close()
	_, err := w.Read(make([]byte, 16))
	var opErr *net.OpError
	if !errors.As(err, &opErr) || errors.Is(err, io.EOF) {
		t.Fatalf("a read of a reset connection returned %v (%T), not a *net.OpError", err, err)
	}
	if violated(err) {
		t.Fatalf("%v counts as a breach of the protocol", err)
	}
}

// A wire waiting for its client holds no read buffer: many sessions may
// wait at once, a buffer being taken only by a read that finds bytes.
func TestWaitingReadsHoldNoBuffer(t *testing.T) {
	runtime.GC()
	runtime.GC() // empties wireReadBuffers
	var made atomic.Int64
	newBuffer := wireReadBuffers.New
	wireReadBuffers.New = func() any { made.Add(1); return newBuffer() }
	t.Cleanup(func() { wireReadBuffers.New = newBuffer })

	const waiting = 50
	clients := make([]*net.TCPConn, waiting)
	done := make(chan string, waiting)
	for i := range clients {
		server, client := proctest.TCPPair(t)
		clients[i] = client
		w := newWire(server)
		go func() {
			p := make([]byte, 16)
			n, _ := w.Read(p)
			done <- string(p[:n])
		}()
	}
	proctest.Eventually(t, 10*time.Second, func() error {
		if n := blockedReads(); n < waiting {
			return fmt.Errorf("%d of %d reads came to wait", n, waiting)
		}
		return nil
	})
	// Each read takes a buffer for a moment, and gives it back: a few are
	// made, more under the race detector, which drops some of what is
	// put back in a pool.
	if n := made.Load(); n > waiting/2 {
		t.Fatalf("%d waiting reads made %d read buffers", waiting, n)
	}
	for _, c := range clients {
		c.Write([]byte("hi"))
	}
	for range waiting {
		if got := <-done; got != "hi" {
			t.Fatalf("a read returned %q, not what was sent", got)
		}
	}
}

// blockedReads counts the goroutines waiting in a wire's read for the
// network.
func blockedReads() int {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	n := 0
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "[IO wait") && strings.Contains(g, "(*wire).readNetwork") {
			n++
		}
	}
	return n
}
