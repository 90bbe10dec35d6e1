package bridge

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

// quietStream is a readNotifier whose writer is the test. A Read that
// would block fails the test.
type quietStream struct {
	t *testing.T

	mu       sync.Mutex
	changed  sync.Cond
	buf      []byte
	ended    bool
	notify   func()
	notifies int // calls of NotifyRead
}

func newQuietStream(t *testing.T) *quietStream {
	s := &quietStream{t: t}
	s.changed.L = &s.mu
	return s
}

func (s *quietStream) write(p string, end bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	s.ended = end
	if s.notify != nil {
		go s.notify()
		s.notify = nil
	}
	s.changed.Broadcast()
}

func (s *quietStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == 0 {
		if s.ended {
			return 0, io.EOF
		}
		s.t.Error("a Read that would block")
		return 0, fmt.Errorf("would block")
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *quietStream) NotifyRead(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifies++
	if len(s.buf) > 0 || s.ended {
		go f()
	} else {
		s.notify = f
	}
}

func (s *quietStream) WaitReadFor(d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := time.AfterFunc(d, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer t.Stop()
	deadline := time.Now().Add(d)
	for len(s.buf) == 0 && !s.ended && time.Now().Before(deadline) {
		s.changed.Wait()
	}
	return len(s.buf) > 0 || s.ended
}

func TestPumpChunksFromQuietStream(t *testing.T) {
	// Output that keeps coming is read by one goroutine; after a quiet
	// the stream is left to NotifyRead; every byte is used, in order, and
	// the end is told once, with no Read that would block.
	s := newQuietStream(t)
	var mu sync.Mutex
	var got bytes.Buffer
	ended := make(chan error, 2)
	pumpChunks(s, textReadBuffers, func(p []byte) error {
		mu.Lock()
		got.Write(p)
		mu.Unlock()
		return nil
	}, func(err error) { ended <- err })

	notifies := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.notifies
	}
	var want bytes.Buffer
	for i := range 50 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		before := notifies()
		s.write(line, false)
		if i%10 == 9 {
			// After a quiet the stream is left to NotifyRead, however
			// long a loaded machine takes to get there.
			time.Sleep(3 * linger)
			proctest.Eventually(t, 10*time.Second, func() error {
				if n := notifies(); n == before {
					return fmt.Errorf("NotifyRead called %d times, none after the quiet that followed line %d", n, i)
				}
				return nil
			})
		}
	}
	s.write("last", true)
	want.WriteString("last")
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("end(%v), want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the end never told")
	}
	mu.Lock()
	defer mu.Unlock()
	if got.String() != want.String() {
		t.Fatalf("used %q, want %q", got.String(), want.String())
	}
	select {
	case err := <-ended:
		t.Fatalf("the end told twice, then with %v", err)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestPumpChunksStopsAtUseError(t *testing.T) {
	s := newQuietStream(t)
	ended := make(chan error, 1)
	stop := fmt.Errorf("client gone")
	pumpChunks(s, textReadBuffers, func([]byte) error { return stop }, func(err error) { ended <- err })
	s.write("x\n", false)
	select {
	case err := <-ended:
		if err != stop {
			t.Fatalf("end(%v), want %v", err, stop)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the end never told")
	}
}
