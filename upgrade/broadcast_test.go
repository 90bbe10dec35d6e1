package upgrade

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsbridge/process/proctest"
)

func broadcastConfig() Config {
	cfg := catConfig()
	cfg.Broadcast = true
	cfg.MaxMessageSize = 1 << 20
	return cfg
}

// dialEcho connects to path and checks that the program there answers.
func dialEcho(t *testing.T, ctx context.Context, addr, path, line string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if err := c.Write(ctx, websocket.MessageText, []byte(line)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != line {
		t.Fatalf("%s: sent %q, got %q, %v", path, line, msg, err)
	}
	return c
}

func TestBroadcastJoinWhileLastLeaves(t *testing.T) {
	// The last client leaves as a new one comes: the new one gets the
	// running program or a new one, never one being stopped, which would
	// close it without an answer.
	_, addr, _ := startServer(t, broadcastConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 30 {
		a := dialEcho(t, ctx, addr, "/room", "a")
		left := make(chan struct{})
		go func() {
			a.Close(websocket.StatusNormalClosure, "")
			close(left)
		}()
		b := dialEcho(t, ctx, addr, "/room", "b")
		<-left
		b.Close(websocket.StatusNormalClosure, "")
	}
}

func TestBroadcastMaxForksCountsSharedProgramOnce(t *testing.T) {
	cfg := broadcastConfig()
	cfg.MaxForks = 1
	srv, addr, logs := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := dialEcho(t, ctx, addr, "/a", "one")
	b := dialEcho(t, ctx, addr, "/a", "two")
	if _, msg, err := a.Read(ctx); err != nil || string(msg) != "two" {
		t.Fatalf("the first client got %q, %v; want the second one's line", msg, err)
	}
	if a, p := testutil.ToFloat64(srv.metrics.active), testutil.ToFloat64(srv.metrics.processes); a != 2 || p != 1 {
		t.Errorf("%v sessions and %v programs counted, want 2 and 1", a, p)
	}
	if status := upgradeStatus(t, addr, "/b"); status != http.StatusTooManyRequests {
		t.Fatalf("another path: %d, want 429", status)
	}
	a.Close(websocket.StatusNormalClosure, "")
	b.Close(websocket.StatusNormalClosure, "")
	// Once the last client is logged as gone, the slot is free.
	proctest.Eventually(t, 10*time.Second, func() error {
		if n := len(logs.events("disconnected")); n < 2 {
			return fmt.Errorf("%d of 2 clients logged as gone", n)
		}
		return nil
	})
	dialEcho(t, ctx, addr, "/b", "three")
	if ev := waitEvent(t, logs, "broadcast program ended"); ev["path"] != "/a" || ev["exit"] == nil || ev["pid"] == nil {
		t.Errorf("end of the broadcast program logged as %v", ev)
	}
}

// upgradeStatus sends an upgrade request for path and returns the status
// it gets.
func upgradeStatus(t *testing.T, addr, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBroadcastClientsLimitEachProgram(t *testing.T) {
	cfg := broadcastConfig()
	cfg.MaxBroadcastClients = 2
	srv, addr, logs := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := dialEcho(t, ctx, addr, "/a", "one")
	dialEcho(t, ctx, addr, "/a", "two")
	if status := upgradeStatus(t, addr, "/a"); status != http.StatusTooManyRequests {
		t.Fatalf("a third client of the program: %d, want 429", status)
	}
	if ev := waitEvent(t, logs, "refused"); ev["status"] != float64(429) || ev["reason"] != "--broadcast-clients clients already share the program" {
		t.Errorf("refusal logged as %v", ev)
	}
	if n := testutil.ToFloat64(srv.metrics.refusals.WithLabelValues(refusedBroadcastClients)); n != 1 {
		t.Errorf("%v refusals counted, want 1", n)
	}
	// Another program has clients of its own.
	dialEcho(t, ctx, addr, "/b", "three")
	// A client that leaves makes room. The library answers a client's
	// close frame as it reads it, before the session learns of it: the
	// room is made soon after the client is told, not before.
	a.Close(websocket.StatusNormalClosure, "")
	var d *websocket.Conn
	proctest.Eventually(t, 5*time.Second, func() error {
		var err error
		d, _, err = websocket.Dial(ctx, "ws://"+addr+"/a", nil)
		return err
	})
	defer d.CloseNow()
	if err := d.Write(ctx, websocket.MessageText, []byte("four")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := d.Read(ctx); err != nil || string(msg) != "four" {
		t.Fatalf("sent %q, got %q, %v", "four", msg, err)
	}
}
