//go:build unix

package upgrade

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"wsbridge/process/proctest"
)

// gatewayServer serves a --cgidir directory holding the given scripts
// (name → body after "#!/bin/sh") through a gateway that configure may
// change first. It returns the server, its log and the gateway.
func gatewayServer(t *testing.T, scripts map[string]string, configure func(*cgiGateway)) (*httptest.Server, *syncBuffer, *cgiGateway) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		proctest.WriteFile(t, filepath.Join(dir, name), "#!/bin/sh\n"+body+"\n", 0o755)
	}
	logs := &syncBuffer{}
	g := cgiHandler(openTestDir(t, "--cgidir", dir, false), dir, nil, newForkLimit(1), newGauge(), zerolog.New(logs), http.HandlerFunc(notFound))
	if configure != nil {
		configure(g)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, logs, g
}

// stderrPid waits for the first line a program wrote on stderr, its pid.
func stderrPid(t *testing.T, logs *syncBuffer) int {
	t.Helper()
	ev := waitEvent(t, logs, "CGI program wrote to stderr")
	pid, err := strconv.Atoi(ev["stderr"].(string))
	if err != nil {
		t.Fatalf("pid %q: %v", ev["stderr"], err)
	}
	return pid
}

// sendRaw connects to srv and sends request as it is.
func sendRaw(t *testing.T, srv *httptest.Server, request string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	return conn
}

// checkSlotFree checks that the gateway's only --maxforks slot is free
// and that no program is counted running.
func checkSlotFree(t *testing.T, g *cgiGateway) {
	t.Helper()
	if !g.limit.tryAcquire() {
		t.Fatal("the slot was not given back")
	}
	g.limit.release()
	if v := testutil.ToFloat64(g.running); v != 0 {
		t.Errorf("running = %v, want 0", v)
	}
}

func TestCGIProgramHasItsOwnGroup(t *testing.T) {
	// Its process group is its own: "kill 0" reaches nothing else.
	srv, _, _ := gatewayServer(t, map[string]string{
		"group.sh": `printf 'Content-Type: text/plain\n\n'; echo "$$ $(cut -d' ' -f5 /proc/$$/stat)"`,
	}, nil)
	status, body := get(t, srv.URL+"/group.sh")
	f := strings.Fields(body)
	if status != 200 || len(f) != 2 || f[0] != f[1] {
		t.Errorf("%d %q: want the pid and a process group id that is the same", status, body)
	}
}

func TestCGIClientGoneStopsProgram(t *testing.T) {
	srv, logs, g := gatewayServer(t, map[string]string{"sleep.sh": "echo $$ >&2; exec sleep 100"}, nil)
	conn := sendRaw(t, srv, "GET /sleep.sh HTTP/1.1\r\nHost: x\r\n\r\n")
	pid := stderrPid(t, logs)
	conn.Close()
	proctest.WaitGone(t, pid, 2*time.Second)
	if ev := waitEvent(t, logs, "stopping CGI program"); ev["reason"] != "its client went away" || ev["pid"] != float64(pid) {
		t.Errorf("stop logged as %v", ev)
	}
	srv.Close() // waits for the handler to return
	checkSlotFree(t, g)
}

func TestCGIBodyTimeout(t *testing.T) {
	srv, logs, g := gatewayServer(t, map[string]string{"read.sh": "echo $$ >&2; exec cat"}, func(g *cgiGateway) {
		g.bodyTimeout = 300 * time.Millisecond
	})
	// Ten bytes said, three sent, and then nothing.
	conn := sendRaw(t, srv, "POST /read.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	pid := stderrPid(t, logs)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("answered %d, closing %v; want 408, closing", resp.StatusCode, resp.Close)
	}
	proctest.WaitGone(t, pid, 2*time.Second)
	ev := waitEvent(t, logs, "stopping CGI program")
	if ev["reason"] != "the request body did not reach it within 300ms" || ev["level"] != "warn" || ev["script"] != "/read.sh" {
		t.Errorf("stop logged as %v", ev)
	}
	srv.Close()
	checkSlotFree(t, g)
}

func TestCGIBodyReachesProgram(t *testing.T) {
	srv, _, _ := gatewayServer(t, map[string]string{
		"count.sh": `n=$(wc -c); printf 'Content-Type: text/plain\n\n%s\n' $n`,
		"early.sh": `printf 'Content-Type: text/plain\n\nearly\n'`,
	}, nil)
	body := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB, far more than a pipe holds
	resp, err := http.Post(srv.URL+"/count.sh", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != strconv.Itoa(len(body))+"\n" {
		t.Errorf("count.sh: %d %q, want 200 %d", resp.StatusCode, got, len(body))
	}

	// A program that answers without reading its body is answered at
	// once; the connection, whose body was left unread, is closed.
	conn := sendRaw(t, srv, "POST /early.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(got) != "early\n" || !resp.Close {
		t.Errorf("early.sh: %d %q, closing %v; want 200 \"early\\n\", closing", resp.StatusCode, got, resp.Close)
	}
}

func TestCGIBackgroundJobHoldingStdout(t *testing.T) {
	// The job keeps the program's stdout open after the program exits:
	// the answer still ends, and the job is killed with the group.
	srv, logs, g := gatewayServer(t, map[string]string{
		"job.sh": `printf 'Content-Type: text/plain\n\ndone\n'; sleep 100 & echo $! >&2`,
	}, nil)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(srv.URL + "/job.sh")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "done\n" {
		t.Errorf("%d %q", resp.StatusCode, got)
	}
	proctest.WaitGone(t, stderrPid(t, logs), 2*time.Second)
	checkSlotFree(t, g)
}

func TestCGIShutdownStopsPrograms(t *testing.T) {
	shutdown, stop := context.WithCancel(context.Background())
	defer stop()
	srv, logs, g := gatewayServer(t, map[string]string{
		"sleep.sh": `trap '' INT; echo $$ >&2; sleep 100; echo not stopped`,
	}, func(g *cgiGateway) { g.shutdown = shutdown })
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/sleep.sh")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	pid := stderrPid(t, logs)
	stop()
	if status := <-answered; status != http.StatusServiceUnavailable {
		t.Errorf("answered %d, want 503", status)
	}
	proctest.WaitGone(t, pid, 2*time.Second)
	if ev := waitEvent(t, logs, "stopping CGI program"); ev["reason"] != "the server is shutting down" {
		t.Errorf("stop logged as %v", ev)
	}
	// No program is started once the server shuts down.
	if status, _ := get(t, srv.URL+"/sleep.sh"); status != http.StatusServiceUnavailable {
		t.Errorf("after the shutdown: %d, want 503", status)
	}
	checkSlotFree(t, g)
}

func TestCGIAnswers(t *testing.T) {
	srv, logs, _ := gatewayServer(t, map[string]string{
		"status.sh":   `printf 'Status: 418 Teapot\nContent-Type: text/plain\n\ntea\n'`,
		"redirect.sh": `printf 'Location: /elsewhere\n\n'`,
		"bad.sh":      `printf 'Content-Type: text/plain\nnot a header\n\n'`,
		"none.sh":     `exit 0`,
	}, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		path   string
		status int
		header string
		body   string
	}{
		{"/status.sh", 418, "", "tea\n"},
		{"/redirect.sh", 302, "/elsewhere", ""},
		{"/bad.sh", 500, "", "500 internal server error\n"},
		{"/none.sh", 500, "", "500 internal server error\n"},
	} {
		resp, err := client.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.header || string(body) != tc.body {
			t.Errorf("%s: %d %q %q, want %d %q %q", tc.path, resp.StatusCode, resp.Header.Get("Location"), body, tc.status, tc.header, tc.body)
		}
	}
	if evs := logs.events("CGI program gave no valid answer"); len(evs) != 2 || evs[0]["error"] == "" {
		t.Errorf("bad answers logged as %v", evs)
	}
}

func TestCGIAnswerStreams(t *testing.T) {
	// What the program writes reaches the client while it runs.
	srv, logs, g := gatewayServer(t, map[string]string{
		"slow.sh": `printf 'Content-Type: text/plain\n\nfirst\n'; echo $$ >&2; exec sleep 100`,
	}, nil)
	conn := sendRaw(t, srv, "GET /slow.sh HTTP/1.1\r\nHost: x\r\n\r\n")
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if resp.StatusCode != 200 || line != "first\n" {
		t.Fatalf("%d %q, %v; want 200 \"first\\n\" while the program runs", resp.StatusCode, line, err)
	}
	pid := stderrPid(t, logs)
	conn.Close()
	proctest.WaitGone(t, pid, 2*time.Second)
	srv.Close()
	checkSlotFree(t, g)
}

func TestCGIAnswerCutShortIsNotWhole(t *testing.T) {
	shutdown, stop := context.WithCancel(context.Background())
	defer stop()
	srv, logs, _ := gatewayServer(t, map[string]string{
		"slow.sh": `printf 'Content-Type: text/plain\n\nfirst\n'; echo $$ >&2; exec sleep 100`,
	}, func(g *cgiGateway) { g.shutdown = shutdown })
	resp, err := http.Get(srv.URL + "/slow.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stderrPid(t, logs)
	stop()
	body, err := io.ReadAll(resp.Body)
	if string(body) != "first\n" || err != io.ErrUnexpectedEOF {
		t.Errorf("read %q, %v; want \"first\\n\" and %v", body, err, io.ErrUnexpectedEOF)
	}
}
