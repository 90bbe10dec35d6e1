//go:build linux

package upgrade

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/process"
)

func TestQuietSessionsHoldOneGoroutine(t *testing.T) {
	// While its child is quiet, a session holds one goroutine, the one
	// that reads its client: the child's stdout and stderr are watched by
	// the process's poller. What the child writes after a long quiet
	// still reaches the client, and the log.
	cfg := Config{Process: process.Config{
		Path: "/bin/sh",
		Args: []string{"-c", `while read -r line; do echo "$line"; echo "err $line" >&2; done`},
		PTY:  true,
	}}
	_, addr, logs := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A first session starts the watcher of exits, which lives on.
	dialEcho(t, ctx, addr, "/", "first").Close(websocket.StatusNormalClosure, "")
	baseline, _ := settled(t, -1, -1)

	const n = 20
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = dialEcho(t, ctx, addr, "/", fmt.Sprint("a", i))
	}
	var g int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if g = runtime.NumGoroutine(); g <= baseline+n {
			break
		}
	}
	if g > baseline+n {
		t.Fatalf("%d quiet sessions hold %d goroutines; want at most %d", n, g-baseline, n)
	}

	for i, c := range conns {
		line := fmt.Sprint("b", i)
		if err := c.Write(ctx, websocket.MessageText, []byte(line)); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != line {
			t.Fatalf("session %d after a quiet: sent %q, got %q, %v", i, line, msg, err)
		}
	}
	for i := range conns {
		waitStderr(t, logs, fmt.Sprint("err b", i))
	}
}

// waitStderr waits for the log to tell of the stderr line want.
func waitStderr(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, ev := range logs.events("child wrote to stderr") {
			if ev["stderr"] == want {
				return
			}
		}
	}
	t.Fatalf("no stderr line %q in the log", want)
}
