package upgrade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"wsbridge/process"
	"wsbridge/process/proctest"
	"wsbridge/upgrade/listen"
)

func TestMain(m *testing.M) {
	// The goroutines that wait for the exits of all children and for
	// their output, and the one that starts them, live as long as the
	// process.
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("wsbridge/process.(*exitWatcher).run"),
		goleak.IgnoreAnyFunction("wsbridge/process/readwatch.(*readPoller).run"),
		goleak.IgnoreAnyFunction("wsbridge/process.(*forkThreads).run"))
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// events returns the logged events with the given message.
func (b *syncBuffer) events(message string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var evs []map[string]any
	for _, line := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		var ev map[string]any
		if json.Unmarshal(line, &ev) == nil && ev["message"] == message {
			evs = append(evs, ev)
		}
	}
	return evs
}

// startServer serves cfg on 127.0.0.1 and returns the server, its address
// and its access log; the server is shut down at the end of the test.
func startServer(t *testing.T, cfg Config) (*Server, string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.AccessLog = zerolog.New(logs)
	cfg.Log = zerolog.New(logs)
	lns, err := listen.TCP([]string{"127.0.0.1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lns...) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, lns[0].Addr().String(), logs
}

func catConfig() Config {
	return Config{Process: process.Config{Path: "/bin/cat", PTY: true}}
}

func TestSessionAndShutdown(t *testing.T) {
	srv, addr, logs := startServer(t, catConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "hi" {
		t.Fatalf("got %q, %v", msg, err)
	}
	go srv.Shutdown(ctx)
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("got %v, want 1001", err)
	}
	// The session is logged once it has ended, with cat's exit on EOF.
	ev := waitEvent(t, logs, "disconnected")
	if ev["exit"] != "exit status 0" || ev["close_code"] != float64(1001) || ev["path"] != "/x" {
		t.Errorf("event %v", ev)
	}
}

func TestMalformedHandshakeStartsNoChild(t *testing.T) {
	_, addr, logs := startServer(t, catConfig())
	for _, tc := range []struct {
		name    string
		request string
		status  string
	}{
		{"no key", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n", "400"},
		{"wrong version", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "400"},
		{"POST", "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n\r\n", "405"},
		{"plain GET", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "404"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte(tc.request))
		buf := make([]byte, 512)
		n, _ := conn.Read(buf)
		conn.Close()
		if status := strings.Fields(string(buf[:n]) + " ? ?")[1]; status != tc.status {
			t.Errorf("%s: status %s, want %s (%q)", tc.name, status, tc.status, buf[:n])
		}
	}
	if evs := logs.events("connected"); len(evs) != 0 {
		t.Errorf("a child was started: %v", evs)
	}
}

func TestShutdownClosesFreshConnections(t *testing.T) {
	srv, addr, _ := startServer(t, catConfig())
	// A connection that never sends a request, as a browser's
	// preconnection does, must not hold the shutdown up.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Wait until the server has the connection: it then closes it on
	// shutdown, and the read below ends.
	proctest.Eventually(t, 10*time.Second, func() error {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if len(srv.fresh) != 1 {
			return errors.New("the server never saw the connection")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Shutdown: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("fresh connection not closed: %v", err)
	}
}
