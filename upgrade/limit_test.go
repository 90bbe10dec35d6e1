package upgrade

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/process"
	"wsbridge/process/proctest"
)

func TestForkLimit(t *testing.T) {
	l := newForkLimit(2)
	if !l.tryAcquire() || !l.tryAcquire() {
		t.Fatal("a free slot was refused")
	}
	if l.tryAcquire() {
		t.Fatal("a third slot was given out of two")
	}
	l.release()
	if !l.tryAcquire() {
		t.Fatal("a released slot was refused")
	}
	if l.tryAcquire() {
		t.Fatal("a third slot was given out of two")
	}
}

func TestForkLimitUnlimited(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    *forkLimit
	}{
		{"newForkLimit(0)", newForkLimit(0)},
		{"newForkLimit(-1)", newForkLimit(-1)},
		{"nil", nil},
		{"zero", &forkLimit{}},
	} {
		for range 1000 {
			if !tc.l.tryAcquire() {
				t.Fatalf("%s refused a slot", tc.name)
			}
		}
		for range 1000 {
			tc.l.release()
		}
	}
	if newForkLimit(0) != nil {
		t.Error("newForkLimit(0) is not nil")
	}
}

func TestForkLimitReleaseWithoutAcquire(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("release without a slot taken did not panic")
		}
	}()
	newForkLimit(1).release()
}

func TestForkLimitConcurrent(t *testing.T) {
	const n, workers, rounds = 3, 16, 500
	l := newForkLimit(n)
	var running, most, taken atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				if !l.tryAcquire() {
					continue
				}
				taken.Add(1)
				now := running.Add(1)
				for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
				}
				running.Add(-1)
				l.release()
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > n {
		t.Errorf("%d slots taken at once, limit %d", m, n)
	}
	if taken.Load() == 0 {
		t.Error("no slot was ever taken")
	}
	// Every slot is free again.
	for range n {
		if !l.tryAcquire() {
			t.Fatal("a slot was not given back")
		}
	}
}

func TestPerIP(t *testing.T) {
	p := newPerIP(2)
	for _, step := range []struct {
		acquire bool // or release
		addr    string
		ok      bool
	}{
		{true, "192.0.2.1:1000", true},
		{true, "192.0.2.1:1001", true},
		{true, "192.0.2.1:1002", false}, // the port does not matter
		{true, "192.0.2.1", false},      // nor its absence, behind a proxy
		{true, "[::ffff:192.0.2.1]:1003", false},
		{true, "192.0.2.2:1000", true},
		{true, "[2001:db8::1]:1000", true},
		{true, "@", true}, // unix socket clients are not counted
		{true, "@", true},
		{true, "@", true},
		{false, "192.0.2.1:1000", true},
		{true, "192.0.2.1:1004", true},
	} {
		if step.acquire {
			if got := p.acquire(step.addr); got != step.ok {
				t.Fatalf("acquire %s: %v, want %v", step.addr, got, step.ok)
			}
		} else {
			p.release(step.addr)
		}
	}
	for _, addr := range []string{"192.0.2.1:1001", "192.0.2.1:1004", "192.0.2.2:1000", "[2001:db8::1]:1000", "@", "@", "@"} {
		p.release(addr)
	}
	if len(p.sessions) != 0 {
		t.Errorf("addresses left once every session ended: %v", p.sessions)
	}
	unlimited := newPerIP(0)
	for range 3 {
		if !unlimited.acquire("192.0.2.1:1000") {
			t.Fatal("a limit of 0 limits")
		}
	}
	if len(unlimited.sessions) != 0 {
		t.Errorf("a limit of 0 counts: %v", unlimited.sessions)
	}
}

func TestMaxPerIPServer(t *testing.T) {
	cfg := catConfig()
	cfg.MaxPerIP = 2
	srv, addr, logs := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func() (*websocket.Conn, int) {
		t.Helper()
		c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { c.CloseNow() })
		return c, http.StatusSwitchingProtocols
	}
	c1, _ := dial()
	c2, _ := dial()
	if _, status := dial(); status != http.StatusTooManyRequests {
		t.Fatalf("third session from the address: %d, want 429", status)
	}
	if ev := waitEvent(t, logs, "refused"); ev["status"] != float64(429) || ev["reason"] != "--max-per-ip sessions already open from this address" {
		t.Errorf("refused event %v", ev)
	}
	c1.Close(websocket.StatusNormalClosure, "")
	waitEvent(t, logs, "disconnected")
	c3, status := dial()
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("after one closed: %d", status)
	}
	c2.Close(websocket.StatusNormalClosure, "")
	c3.Close(websocket.StatusNormalClosure, "")

	// A handshake refused after the count gives it back too.
	for range 3 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		conn.Read(make([]byte, 512))
		conn.Close()
	}
	waitNoAddresses(t, srv)
}

func TestMaxPerIPReleasedOnFailedStart(t *testing.T) {
	cfg := Config{Process: process.Config{Path: "/no/such/program"}, MaxPerIP: 1}
	srv, addr, _ := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 3 {
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
		if err != nil {
			t.Fatalf("the count of a failed start was kept: %v", err)
		}
		if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusInternalError {
			t.Fatalf("got %v, want 1011", err)
		}
	}
	waitNoAddresses(t, srv)
}

func TestMaxPerIPReleasedPastMaxForks(t *testing.T) {
	cfg := catConfig()
	cfg.MaxPerIP, cfg.MaxForks = 2, 1
	srv, addr, _ := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("past --maxforks: %v", err)
		}
	}
	srv.perIP.mu.Lock()
	n := srv.perIP.sessions[netip.MustParseAddr("127.0.0.1")]
	srv.perIP.mu.Unlock()
	if n != 1 {
		t.Errorf("%d sessions counted for the address, want 1", n)
	}
	c.Close(websocket.StatusNormalClosure, "")
	waitNoAddresses(t, srv)
}

// waitNoAddresses waits until srv counts no session for any address.
func waitNoAddresses(t *testing.T, srv *Server) {
	t.Helper()
	proctest.Eventually(t, 10*time.Second, func() error {
		srv.perIP.mu.Lock()
		defer srv.perIP.mu.Unlock()
		if n := len(srv.perIP.sessions); n != 0 {
			return fmt.Errorf("%d addresses still counted", n)
		}
		return nil
	})
}
