package main_test

// End-to-end tests of what a CGI program, or a client of one, can do to
// wsbridge: nothing that stops it, holds it up or leaves a process
// behind.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// stderrPid waits for the first line a CGI program wrote on stderr,
// which is to be a process id.
func (s *server) stderrPid() int {
	s.t.Helper()
	ev := s.event("CGI program wrote to stderr")
	pid, err := strconv.Atoi(ev["stderr"].(string))
	if err != nil {
		s.t.Fatalf("pid %q: %v", ev["stderr"], err)
	}
	return pid
}

// sendRaw connects to the server and sends request as it is.
func (s *server) sendRaw(request string) net.Conn {
	s.t.Helper()
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		s.t.Fatal(err)
	}
	return conn
}

func TestCGIClientGoneStopsProgram(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "sleep.cgi"), `echo $$ >&2; exec sleep 100`)
	s := startServer(t, "--cgidir="+dir, "cat")
	conn := s.sendRaw("GET /sleep.cgi HTTP/1.1\r\nHost: localhost\r\n\r\n")
	pid := s.stderrPid()
	conn.Close()
	start := time.Now()
	proctest.WaitGone(t, pid, 10*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the program ran on for %v after its client left", d)
	}
	if ev := s.event("stopping CGI program"); ev["reason"] != "its client went away" {
		t.Errorf("stop logged as %v", ev)
	}
}

func TestCGIIdleBodiesDoNotHoldSlots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "read.cgi"), `echo $$ >&2; exec cat`)
	s := startServer(t, "--maxforks=1", "--cgi-body-timeout=1s", "--cgidir="+dir, "cat")
	// A body of 100 bytes is announced, and none sent.
	conn := s.sendRaw("POST /read.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n")
	pid := s.stderrPid()
	if status := dialStatus(t, "ws://"+s.addr+"/", nil); status != http.StatusTooManyRequests {
		t.Errorf("while the program waits for its body: %d, want 429", status)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("answered %d, want 408", resp.StatusCode)
	}
	ev := s.event("stopping CGI program")
	if ev["reason"] != "the request body did not reach it within 1s" || ev["level"] != "warn" || ev["pid"] != float64(pid) {
		t.Errorf("stop logged as %v", ev)
	}
	proctest.WaitGone(t, pid, 10*time.Second)
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "a slot again")
	wstest.Expect(t, c, websocket.MessageText, "a slot again")
}

func TestCGIBackgroundJobDoesNotHangAnswer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The job holds the program's stdout, as an unredirected "&" does.
	writeScript(t, filepath.Join(dir, "job.cgi"), `printf 'Content-Type: text/plain\n\ndone\n'; sleep 100 & echo $! >&2`)
	s := startServer(t, "--cgidir="+dir, "cat")
	if status, body := httpGet(t, s.addr, "/job.cgi"); status != 200 || body != "done\n" {
		t.Errorf("job.cgi: %d %q", status, body)
	}
	proctest.WaitGone(t, s.stderrPid(), 10*time.Second)
	for pid, state := range children(t, s.cmd.Process.Pid) {
		t.Errorf("process %d (state %s) left after the answer", pid, state)
	}
}

func TestCGIProgramsStoppedAtShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "sleep.cgi"), `echo $$ >&2; exec sleep 100`)
	s := startServer(t, "--cgidir="+dir, "cat")
	conn := s.sendRaw("GET /sleep.cgi HTTP/1.1\r\nHost: localhost\r\n\r\n")
	pid := s.stderrPid()
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("answered %d, want 503", resp.StatusCode)
	}
	if err := s.wait(); err != nil {
		t.Errorf("wsbridge exited with %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("wsbridge took %v to stop", d)
	}
	proctest.WaitGone(t, pid, 10*time.Second)
	if ev := s.event("stopping CGI program"); ev["reason"] != "the server is shutting down" {
		t.Errorf("stop logged as %v", ev)
	}
}
