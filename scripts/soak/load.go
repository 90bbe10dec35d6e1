//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// programs are the endpoints of the --dir the server runs, by name.
var programs = map[string]string{
	"echo":  "exec cat",
	"yes":   "exec yes",
	"lines": "exec seq 1000",
	"die":   "echo $$; exec sleep 300",
	"deaf":  "echo ready; exec sleep 300",
	"bg":    "sleep 299 & echo $!",
}

// writePrograms writes programs into dir.
func writePrograms(dir string) error {
	for name, body := range programs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			return fmt.Errorf("writing the program %s: %w", name, err)
		}
	}
	return nil
}

// client is one kind of client: it connects to the server at addr, does
// its thing and goes, returning an error if the server did not behave.
type client struct {
	name string
	run  func(ctx context.Context, addr string, i int) error
}

// clients is the mix the soak runs, each kind in its own loop.
var clients = []client{
	{"churn", churn},
	{"churn", churn},
	{"slow reader", slowReader},
	{"killed child", killedChild},
	{"all lines", allLines},
	{"deaf child", deafChild},
	{"background job", backgroundJob},
	{"bad request", badRequest},
}

// dial connects to path on addr; tcp is set to the TCP connection under
// it, to reset it.
func dial(ctx context.Context, addr, path string, tcp **net.TCPConn) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, "ws://"+addr+path, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil && tcp != nil {
					*tcp = conn.(*net.TCPConn)
				}
				return conn, err
			},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", path, err)
	}
	c.SetReadLimit(-1)
	return c, nil
}

// churn exchanges a few messages with cat and leaves with a close
// handshake, without a close frame, or with a reset.
func churn(ctx context.Context, addr string, i int) error {
	var tcp *net.TCPConn
	c, err := dial(ctx, addr, "/echo", &tcp)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for j := range 3 {
		msg := fmt.Sprintf("message %d.%d", i, j)
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			return err
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
			return fmt.Errorf("echo of %q: %q, %v", msg, got, err)
		}
	}
	switch i % 3 {
	case 0:
		return c.Close(websocket.StatusNormalClosure, "")
	case 1:
		tcp.Close()
	case 2:
		tcp.SetLinger(0)
		tcp.Close()
	}
	return nil
}

// slowReader reads yes's output a little at a time, then goes.
func slowReader(ctx context.Context, addr string, i int) error {
	c, err := dial(ctx, addr, "/yes", nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for range 20 {
		if _, got, err := c.Read(ctx); err != nil || string(got) != "y" {
			return fmt.Errorf("reading yes: %q, %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c.Close(websocket.StatusNormalClosure, "")
}

// stallTime is how long a client waits for its program's first line
// before the server is looked into.
const stallTime = 20 * time.Second

// killedChild kills its program and expects 1011 saying so.
func killedChild(ctx context.Context, addr string, i int) error {
	var tcp *net.TCPConn
	c, err := dial(ctx, addr, "/die", &tcp)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	// A program's first line that has not come in a long while is looked
	// into while the session is still there.
	first, cancel := context.WithTimeout(ctx, stallTime)
	_, msg, err := c.Read(first)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		reportStall(tcp.LocalAddr().(*net.TCPAddr).Port)
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(string(msg))
	if err != nil {
		return fmt.Errorf("pid %q: %w", msg, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing %d: %w", pid, err)
	}
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusInternalError || ce.Reason != "signal: killed" {
		return fmt.Errorf("after the kill: %v, want 1011 signal: killed", err)
	}
	return nil
}

// allLines reads seq's thousand lines and expects them all, in order,
// then 1000.
func allLines(ctx context.Context, addr string, i int) error {
	c, err := dial(ctx, addr, "/lines", nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for n := 1; n <= 1000; n++ {
		if _, got, err := c.Read(ctx); err != nil || string(got) != strconv.Itoa(n) {
			return fmt.Errorf("line %d: %q, %v", n, got, err)
		}
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		return fmt.Errorf("after the last line: %v, want 1000", err)
	}
	return nil
}

// backgroundJob reads the pid of the job that its program leaves in the
// background holding its output as it exits, and expects 1000 once the
// job has been killed, at the end of the drain time, and the job gone.
func backgroundJob(ctx context.Context, addr string, i int) error {
	c, err := dial(ctx, addr, "/bg", nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(string(msg))
	if err != nil {
		return fmt.Errorf("pid %q: %w", msg, err)
	}
	// The drain time is 500 ms.
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(rctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		return fmt.Errorf("after the program's exit: %v, want 1000", err)
	}
	// The job closed the output as it died, a moment before it is done
	// dying: give it a second.
	for range 100 {
		if !jobRunning(pid) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the background job %d was left running", pid)
}

// jobRunning reports whether pid is the program "bg"'s background job, and
// not a zombie.
func jobRunning(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	cmdline, _ := os.ReadFile(dir + "/cmdline")
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil || string(cmdline) != "sleep\x00299\x00" {
		return false
	}
	_, state, ok := parentOf(stat)
	return ok && state != "Z"
}

// deafChild writes to a program that does not read until the writes
// block, then resets the connection.
func deafChild(ctx context.Context, addr string, i int) error {
	var tcp *net.TCPConn
	c, err := dial(ctx, addr, "/deaf", &tcp)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); err != nil {
		return err
	}
	// The writes block once every buffer on the way is full; a write
	// that has not finished within the second ends the client.
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	msg := make([]byte, 32<<10)
	sent := 0
	for c.Write(wctx, websocket.MessageBinary, msg) == nil {
		sent += len(msg)
		if sent > 64<<20 {
			return fmt.Errorf("%d bytes taken for a program that does not read", sent)
		}
	}
	tcp.SetLinger(0)
	tcp.Close()
	return nil
}

// badRequests are requests the server must refuse with a 4xx or a close.
var badRequests = []string{
	"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
	"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
	"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
	"GET /%2e%2e/echo HTTP/1.1\r\nHost: x\r\n\r\n",
	"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\x00", 32) + "\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n",
}

// badRequest sends one of badRequests, or half a request it then drops.
func badRequest(ctx context.Context, addr string, i int) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if i%(len(badRequests)+1) == len(badRequests) {
		io.WriteString(conn, "GET /echo HTTP/1.1\r\nHost: x\r\n")
		time.Sleep(time.Second)
		return nil
	}
	req := badRequests[i%len(badRequests)]
	go io.WriteString(conn, req)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil // closed without an answer
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		return fmt.Errorf("%.30q answered with %d", req, resp.StatusCode)
	}
	return nil
}
