package bridge

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

func TestRateTake(t *testing.T) {
	r := newRate(4) // a token every 250 ms, bursts of 4
	at := func(ms int) time.Time { return r.start.Add(time.Duration(ms) * time.Millisecond) }
	for i, step := range []struct {
		now, wait int // in ms
	}{
		// A burst of 4 goes at once; the fifth waits for a token.
		{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 250},
		// Read when it was let through, the next waits its turn.
		{250, 250},
		// After a quiet second and a half the bucket is full again.
		{2000, 0}, {2000, 0}, {2000, 0}, {2000, 0}, {2000, 250},
		// At the steady rate, nothing waits.
		{3000, 0}, {3250, 0}, {3500, 0}, {3750, 0},
	} {
		if got := r.take(at(step.now)); got != time.Duration(step.wait)*time.Millisecond {
			t.Errorf("message %d at %d ms: waits %v, want %d ms", i, step.now, got, step.wait)
		}
	}
	if newRate(0) != nil {
		t.Error("a rate of 0 limits")
	}
}

func TestRateWaitEndsWithSession(t *testing.T) {
	r := newRate(1)
	done := make(chan struct{})
	returned := make(chan struct{})
	go func() {
		r.wait(time.Hour, done)
		close(returned)
	}()
	close(done)
	select {
	case <-returned:
	case <-time.After(20 * time.Second):
		t.Fatal("the wait did not end with the session")
	}
}

func TestMaxRateSlowsClient(t *testing.T) {
	// The client sends three bursts' worth as fast as it can to a child
	// that prints nothing, and answers pings meanwhile: the messages come
	// at the rate, all of them in order, and the pongs that queue behind
	// them do not count as missed.
	if testing.Short() {
		t.Skip("takes seconds by design, messages at 100 a second: runs without -short")
	}
	const perSecond, n = 100, 300
	lines := make(chan []string, 1)
	child := startFake(func(stdin io.Reader, _, _ io.Writer) error {
		var got []string
		sc := bufio.NewScanner(stdin)
		for len(got) < n && sc.Scan() {
			got = append(got, sc.Text())
		}
		lines <- got
		return nil
	})
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{MaxRate: perSecond, PingInterval: 20 * time.Millisecond}}, 0)
	readDone := c.CloseRead(context.Background())
	start := time.Now()
	for i := range n {
		if err := c.Write(wstest.Context(t), websocket.MessageText, []byte(strconv.Itoa(i))); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	r := result(t, results)
	elapsed := time.Since(start)
	<-readDone.Done()
	if r.ClientErr != nil || r.Code != websocket.StatusNormalClosure || r.MessagesIn != n {
		t.Fatalf("result %+v", r)
	}
	got := <-lines
	for i, line := range got {
		if line != strconv.Itoa(i) {
			t.Fatalf("line %d is %q", i, line)
		}
	}
	if len(got) != n {
		t.Fatalf("the child read %d lines of %d", len(got), n)
	}
	// The first burst goes at once, the rest at the rate.
	if min := time.Duration(n-perSecond) * time.Second / perSecond; elapsed < min {
		t.Errorf("%d messages at %d a second took %v, less than %v", n, perSecond, elapsed, min)
	}
}
