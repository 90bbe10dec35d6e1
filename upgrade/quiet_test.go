//go:build linux

package upgrade

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge"
	"wsbridge/process"
	"wsbridge/process/proctest"
)

func TestQuietSessionsHoldNoGoroutine(t *testing.T) {
	// While its client and its child are quiet, a session holds no
	// goroutine: the client's connection and the child's stdout and
	// stderr are watched by the process's poller. Pings go on meanwhile:
	// each pong wakes the session's reader, which rests again. What the
	// client and the child send after a long quiet still arrives, and the
	// child's stderr reaches the log.
	const ping = 100 * time.Millisecond
	cfg := Config{
		Process: process.Config{
			Path: "/bin/sh",
			Args: []string{"-c", `while read -r line; do echo "$line"; echo "err $line" >&2; done`},
			PTY:  true,
		},
		Bridge: bridge.Config{PingInterval: ping},
	}
	_, addr, logs := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const n = 20
	conns := make([]*websocket.Conn, n)
	echoes := make([]chan string, n)
	for i := range conns {
		conns[i] = dialEcho(t, ctx, addr, "/", fmt.Sprint("a", i))
		// The client reads all along, so that it answers pings.
		echoes[i] = make(chan string, 1)
		go func() {
			for {
				_, msg, err := conns[i].Read(ctx)
				if err != nil {
					close(echoes[i])
					return
				}
				echoes[i] <- string(msg)
			}
		}()
	}
	waitRest(t, n)
	// Long enough for a session whose pongs went unread to be dropped.
	time.Sleep(5 * ping)

	for i, c := range conns {
		line := fmt.Sprint("b", i)
		if err := c.Write(ctx, websocket.MessageText, []byte(line)); err != nil {
			t.Fatal(err)
		}
		if got, ok := <-echoes[i]; got != line {
			t.Fatalf("session %d after a quiet: sent %q, got %q (open: %v)", i, line, got, ok)
		}
	}
	for i := range conns {
		waitStderr(t, logs, fmt.Sprint("err b", i))
	}

	// Quiet again, each client closes: its close frame wakes its session,
	// which answers it and ends.
	waitRest(t, n)
	for i, c := range conns {
		if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Fatalf("closing session %d: %v", i, err)
		}
	}
	var ended []map[string]any
	proctest.Eventually(t, 10*time.Second, func() error {
		if ended = logs.events("disconnected"); len(ended) < n {
			return fmt.Errorf("%d sessions ended, want %d", len(ended), n)
		}
		return nil
	})
	if len(ended) != n {
		t.Fatalf("%d sessions ended, want %d", len(ended), n)
	}
	for _, ev := range ended {
		if ev["close_code"] != float64(websocket.StatusNormalClosure) {
			t.Fatalf("a session ended with %v, want close code 1000", ev)
		}
	}
}

// waitRest waits for n sessions to rest, holding no goroutine but now and
// then for a moment, when a ping's pong wakes one.
func waitRest(t *testing.T, n int) {
	t.Helper()
	proctest.Eventually(t, 10*time.Second, func() error {
		if g := sessionGoroutines(); g > 2 {
			return fmt.Errorf("%d quiet sessions hold %d goroutines; want none", n, g)
		}
		return nil
	})
}

// sessionGoroutines counts the goroutines running the sessions' code.
func sessionGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("wsbridge/bridge.")) {
			count++
		}
	}
	return count
}

// waitStderr waits for the log to tell of the stderr line want.
func waitStderr(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	proctest.Eventually(t, 10*time.Second, func() error {
		for _, ev := range logs.events("child wrote to stderr") {
			if ev["stderr"] == want {
				return nil
			}
		}
		return fmt.Errorf("no stderr line %q in the log", want)
	})
}

func TestFramesSplitAcrossQuiets(t *testing.T) {
	// A client whose frames come in pieces, with pauses longer than a
	// session waits before it rests, is read as any other: the session
	// rests only between frames, never inside one. Here a ping and a
	// text message come a byte at a time, then the message again at once.
	cfg := Config{Process: process.Config{Path: "cat", PTY: true}}
	_, addr, _ := startServer(t, cfg)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", resp, err)
	}

	// masked is a client frame, masked with a key of zeros.
	masked := func(opcode byte, payload string) []byte {
		return append([]byte{0x80 | opcode, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
	}
	slowly := append(masked(0x9, "ping"), masked(0x1, "hello")...)
	for _, b := range slowly {
		conn.Write([]byte{b})
		time.Sleep(30 * time.Millisecond)
	}
	conn.Write(masked(0x1, "again"))

	for _, want := range []struct {
		opcode  byte
		payload string
	}{{0xA, "ping"}, {0x1, "hello"}, {0x1, "again"}} {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatalf("reading the frame for %q: %v", want.payload, err)
		}
		payload := make([]byte, h[1]&0x7f)
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatal(err)
		}
		if h[0]&0x0f != want.opcode || string(payload) != want.payload {
			t.Fatalf("got opcode %#x %q, want %#x %q", h[0]&0x0f, payload, want.opcode, want.payload)
		}
	}
}
