// Package wstest provides utilities for tests that speak WebSocket to a
// server with a coder/websocket client: sending a message, expecting one
// or a close frame, and a test certificate authority for wss:// and mutual
// TLS. It is for tests only.
package wstest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Timeout bounds every read and write of this package.
const Timeout = 30 * time.Second

// Context returns a context that ends after Timeout or with the test.
func Context(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return c
}

// Send writes msg as one message of type typ, failing t if it cannot.
func Send(t testing.TB, c *websocket.Conn, typ websocket.MessageType, msg string) {
	t.Helper()
	if err := c.Write(Context(t), typ, []byte(msg)); err != nil {
		t.Fatalf("sending %q: %v", msg, err)
	}
}

// Expect reads the next message and fails t unless it is want, of type
// typ. A long message is abbreviated in the failure.
func Expect(t testing.TB, c *websocket.Conn, typ websocket.MessageType, want string) {
	t.Helper()
	gotTyp, got, err := c.Read(Context(t))
	if err != nil {
		t.Fatalf("waiting for %q: %v", abbrev(want), err)
	}
	if gotTyp != typ || string(got) != want {
		t.Fatalf("got %v %q, want %v %q", gotTyp, abbrev(string(got)), typ, abbrev(want))
	}
}

// abbrev shortens s, if longer than 40 bytes, to its first and last 20.
func abbrev(s string) string {
	if len(s) > 40 {
		return s[:20] + "…" + s[len(s)-20:]
	}
	return s
}

// ExpectClose reads the next frame and fails t unless it is a close frame
// with code and reason.
func ExpectClose(t testing.TB, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	_, msg, err := c.Read(Context(t))
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("want close %d, got message %q, error %v", code, msg, err)
	}
	if ce.Code != code || ce.Reason != reason {
		t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
}

// ReadPID reads a message holding a process id, as `echo $$` prints it.
func ReadPID(t testing.TB, c *websocket.Conn) int {
	t.Helper()
	_, msg, err := c.Read(Context(t))
	if err != nil {
		t.Fatalf("reading a process id: %v", err)
	}
	pid, err := strconv.Atoi(string(msg))
	if err != nil {
		t.Fatalf("process id %q: %v", msg, err)
	}
	return pid
}
