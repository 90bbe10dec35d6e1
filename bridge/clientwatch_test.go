package bridge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// fakeWatch is a ReadWatch that tells of the connection being ready when
// the test says so.
type fakeWatch struct {
	can   bool          // NotifyRead can wait
	armed chan struct{} // told of each NotifyRead

	mu      sync.Mutex
	pending func()
	ended   bool
}

func newFakeWatch(can bool) *fakeWatch {
	return &fakeWatch{can: can, armed: make(chan struct{}, 1)}
}

func (w *fakeWatch) NotifyRead(f func()) bool {
	select {
	case w.armed <- struct{}{}:
	default:
	}
	if !w.can {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		go f()
		return true
	}
	w.pending = f
	return true
}

func (w *fakeWatch) End() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	w.ready()
}

// ready calls the pending NotifyRead's function.
func (w *fakeWatch) ready() {
	w.mu.Lock()
	f := w.pending
	w.pending = nil
	w.mu.Unlock()
	if f != nil {
		go f()
	}
}

func (w *fakeWatch) waitArmed(t *testing.T) {
	t.Helper()
	select {
	case <-w.armed:
	case <-time.After(10 * time.Second):
		t.Fatal("the input pump never rested")
	}
}

// echoUntilExit echoes lines until it reads "exit".
func echoUntilExit(stdin io.Reader, stdout, _ io.Writer) error {
	s := bufio.NewScanner(stdin)
	for s.Scan() && s.Text() != "exit" {
		fmt.Fprintln(stdout, s.Text())
	}
	return nil
}

// readAsync reads the next message in the background.
func readAsync(c *websocket.Conn) <-chan string {
	got := make(chan string, 1)
	go func() {
		_, msg, err := c.Read(context.Background())
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(msg)
	}()
	return got
}

func TestInputRestsWhileClientQuiet(t *testing.T) {
	quit := make(chan struct{})
	child := startFake(func(stdin io.Reader, stdout, stderr io.Writer) error {
		go echoUntilExit(stdin, stdout, stderr)
		<-quit
		return nil
	})
	w := newFakeWatch(true)
	cfg := SessionConfig{WatchRead: func(syscall.Conn) ReadWatch { return w }}
	c, results := serve(t, context.Background(), child, cfg, 0)
	wstest.Send(t, c, websocket.MessageText, "a")
	wstest.Expect(t, c, websocket.MessageText, "a")
	w.waitArmed(t)

	// Resting, the session reads nothing until its watch tells it to.
	wstest.Send(t, c, websocket.MessageText, "b")
	got := readAsync(c)
	select {
	case msg := <-got:
		t.Fatalf("got %q while the input pump rested", msg)
	case <-time.After(100 * time.Millisecond):
	}
	w.ready()
	if msg := <-got; msg != "b" {
		t.Fatalf("got %q, want b", msg)
	}
	w.waitArmed(t)

	// The child exits while the pump rests: the session closes the
	// connection, whose watch, ended, wakes the pump, and the session
	// ends.
	close(quit)
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	r := result(t, results)
	if r.Code != websocket.StatusNormalClosure || r.ClientErr != nil || r.MessagesIn != 2 {
		t.Fatalf("result %+v; want code 1000, no client error, 2 messages in", r)
	}
}

func TestInputWithoutRest(t *testing.T) {
	// A watch that cannot wait leaves the pump reading as it would
	// with none.
	w := newFakeWatch(false)
	cfg := SessionConfig{WatchRead: func(syscall.Conn) ReadWatch { return w }}
	c, results := serve(t, context.Background(), startFake(echoUntilExit), cfg, 0)
	wstest.Send(t, c, websocket.MessageText, "a")
	wstest.Expect(t, c, websocket.MessageText, "a")
	w.waitArmed(t)
	// The client stays quiet, for longer than a pump waits before it
	// rests.
	time.Sleep(3 * linger)
	wstest.Send(t, c, websocket.MessageText, "b")
	wstest.Expect(t, c, websocket.MessageText, "b")
	wstest.Send(t, c, websocket.MessageText, "exit")
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	result(t, results)
	select {
	case <-w.armed:
		t.Fatal("NotifyRead tried again after it could not wait")
	default:
	}
}
