//go:build unix

package main_test

// Clients that never read, made with a Unix socket option.

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// dialNotReading upgrades a connection to addr by hand with a receive
// buffer as small as the system allows, and never reads it: the server
// soon has a zero window to write to.
func dialNotReading(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
		})
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, upgradeRequest("/", "")); err != nil {
		t.Fatal(err)
	}
	return c
}

// A client that never reads is dropped once it has taken none of its
// output for --write-timeout-ms: its program is stopped, its slot given
// back, and its end logged with why.
func TestClientThatNeverReadsIsDropped(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--write-timeout-ms=500", "--maxforks=1", "yes")
	dialNotReading(t, s.addr)
	connected := s.event("connected")
	ev := s.event("disconnected")
	if ev["client_error"] != "client stopped taking its output" || ev["close_code"] != float64(1006) {
		t.Errorf("the end of a client that never reads was logged as %v", ev)
	}
	proctest.WaitGone(t, int(connected["pid"].(float64)), 10*time.Second)
	// Its slot of --maxforks is free again.
	c := s.dial("/")
	wstest.Expect(t, c, websocket.MessageText, "y")
}

// A client that never reads does not hold up shutdown, which logs the end
// of its session. In binary mode the program's stdout is a pipe, which
// still holds much for the client when the program is stopped.
func TestShutdownEndsClientThatNeverReads(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := startServer(t, "--binary", "yes")
	dialNotReading(t, s.addr)
	s.event("connected")
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.wait(); err != nil {
		t.Fatalf("wsbridge exited with %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v", d.Round(time.Second))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ended, incomplete bool
	for _, ev := range s.logs {
		ended = ended || ev["message"] == "disconnected" && ev["client_error"] == "client stopped taking its output"
		incomplete = incomplete || ev["message"] == "shutdown incomplete"
	}
	if !ended || incomplete {
		t.Errorf("shutdown logged the session's end: %v, shutdown incomplete: %v", ended, incomplete)
	}
}
