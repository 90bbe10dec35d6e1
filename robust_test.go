package main_test

// End-to-end tests of what must hold under load and faults: nothing lost,
// nothing leaked, memory bounded, everyone else still served.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// children returns the processes whose parent is pid, zombies included,
// each with its state letter; the guardian, which lives as long as the
// server, is left out.
func children(t *testing.T, pid int) map[int]string {
	kids := proctest.Children(t, pid)
	for kid := range kids {
		if isGuardian(t, kid) {
			delete(kids, kid)
		}
	}
	return kids
}

// rssKB returns pid's resident set size in KiB.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// settle waits until the server has no children and no more than fds open
// descriptors.
func (s *server) settle(fds int) {
	s.t.Helper()
	pid := s.cmd.Process.Pid
	proctest.Eventually(s.t, 20*time.Second, func() error {
		if kids, n := children(s.t, pid), proctest.OpenFDs(s.t, pid); len(kids) != 0 || n > fds {
			return fmt.Errorf("left behind: children %v, %d descriptors open where %d were", kids, n, fds)
		}
		return nil
	})
}

func TestKilledChildDeliversEverything(t *testing.T) {
	t.Parallel()
	for _, pty := range []string{"--pty", "--no-pty"} {
		s := startServer(t, pty, "sh", "-c", "seq 20000; kill -KILL $$")
		c := s.dial("/")
		ctx := wstest.Context(t)
		for i := 1; i <= 20000; i++ {
			_, got, err := c.Read(ctx)
			if err != nil || string(got) != strconv.Itoa(i) {
				t.Fatalf("%s: line %d: %q, %v", pty, i, got, err)
			}
		}
		wstest.ExpectClose(t, c, websocket.StatusInternalError, "signal: killed")
	}
}

func TestShutdownDeliversWhatWasWritten(t *testing.T) {
	t.Parallel()
	// The children write their lines and then wait, before the client has
	// read any: on SIGTERM every line still comes, then 1001.
	dir := t.TempDir()
	s := startServer(t, "sh", "-c", `seq 5000; touch `+dir+`/$$; exec sleep 300`)
	var conns []*websocket.Conn
	for range 3 {
		conns = append(conns, s.dial("/"))
	}
	proctest.Eventually(t, 20*time.Second, func() error {
		if done, _ := os.ReadDir(dir); len(done) != len(conns) {
			return fmt.Errorf("%d of %d children finished writing", len(done), len(conns))
		}
		return nil
	})
	s.cmd.Process.Signal(syscall.SIGTERM)
	for _, c := range conns {
		ctx := wstest.Context(t)
		for i := 1; i <= 5000; i++ {
			_, got, err := c.Read(ctx)
			if err != nil || string(got) != strconv.Itoa(i) {
				t.Fatalf("line %d: %q, %v", i, got, err)
			}
		}
		wstest.ExpectClose(t, c, websocket.StatusGoingAway, "server shutting down")
	}
	if err := s.wait(); err != nil {
		t.Fatalf("server exited with %v", err)
	}
}

func TestChurnLeavesNothingBehind(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const n = 5000
	s := startServer(t, "--loglevel=info", "cat")
	pid := s.cmd.Process.Pid
	fds := proctest.OpenFDs(t, pid)

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if err := churnOnce(s.addr, int(i)); err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.settle(fds)
	// Everyone is still served.
	c2 := s.dial("/")
	wstest.Send(t, c2, websocket.MessageText, "after")
	wstest.Expect(t, c2, websocket.MessageText, "after")
}

// churnOnce connects, talks and goes, in one of three ways: a close
// handshake, a connection closed without a close frame, or a reset.
func churnOnce(addr string, i int) error {
	c, err := dialRaw(addr, "/")
	if err != nil {
		return err
	}
	defer c.Close()
	msg := "message " + strconv.Itoa(i)
	if _, err := c.Write(frame(finBit|opText, []byte(msg), false)); err != nil {
		return err
	}
	first, p, err := c.readFrame()
	if err != nil || first != finBit|opText || string(p) != msg {
		return fmt.Errorf("echo: frame %#x %q, %v", first, p, err)
	}
	switch i % 3 {
	case 0:
		c.Write(frame(finBit|opClose, []byte{0x03, 0xe8}, false))
		if code, reason := c.readClose(); code != 1000 {
			return fmt.Errorf("closed with %d %q", code, reason)
		}
	case 1:
		// Closed without a close frame.
	case 2:
		c.Conn.(*net.TCPConn).SetLinger(0)
	}
	return nil
}

func TestResetClientStopsChildAtOnce(t *testing.T) {
	t.Parallel()
	// Pings would find the client gone only after a minute.
	s := startServer(t, "--pingms=60000", "sh", "-c", "echo $$; exec cat")
	c, err := dialRaw(s.addr, "/")
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(p))
	c.Conn.(*net.TCPConn).SetLinger(0)
	c.Close()
	start := time.Now()
	proctest.WaitGone(t, pid, 10*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("child stopped %v after the reset", took)
	}
}

func TestStubbornChildrenAreStopped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script string
	}{
		// The signals ignored by the shell are ignored by sleep too.
		{"ignores SIGINT and SIGTERM", `trap "" INT TERM; echo $$; while :; do sleep 1; done`},
		{"closes stdout and runs on", `echo $$; exec >&- 2>&-; exec sleep 300`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "sh", "-c", tc.script)
			c := s.dial("/")
			pid := wstest.ReadPID(t, c)
			wstest.Send(t, c, websocket.MessageText, "anything")
			c.Close(websocket.StatusNormalClosure, "")
			start := time.Now()
			proctest.WaitGone(t, pid, 10*time.Second)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("child stopped %v after the client left", took)
			}
			s.settle(proctest.OpenFDs(t, s.cmd.Process.Pid))
		})
	}
	t.Run("grandchild holds stdout", func(t *testing.T) {
		s := startServer(t, "sh", "-c", "sleep 300 & echo $!; exit 3")
		c := s.dial("/")
		pid := wstest.ReadPID(t, c)
		start := time.Now()
		wstest.ExpectClose(t, c, websocket.StatusInternalError, "exit status 3")
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("session ended %v after its program exited", took)
		}
		proctest.WaitGone(t, pid, 10*time.Second)
	})
}

// servedMeanwhile checks that a client on path gets answers from its cat
// while the rest of a test goes on.
func servedMeanwhile(t *testing.T, s *server, path string) {
	t.Helper()
	c := s.dial(path)
	for i := range 50 {
		msg := "still served " + strconv.Itoa(i)
		wstest.Send(t, c, websocket.MessageText, msg)
		wstest.Expect(t, c, websocket.MessageText, msg)
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// maxRSS is the most a server under these tests may hold. The server is
// built with the race detector, which adds its own.
const maxRSS = 64 << 10 // KiB

func TestNonReadingClientsBoundMemory(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "yes"), "exec yes")
	writeScript(t, filepath.Join(dir, "cat"), "exec cat")
	s := startServer(t, "--dir="+dir)
	pid := s.cmd.Process.Pid
	// Clients that never read: yes fills every buffer on the way and
	// then blocks.
	for range 4 {
		c, err := dialRaw(s.addr, "/yes")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	peak := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		peak = max(peak, proctest.StatusKB(t, pid, "VmRSS"))
	}
	servedMeanwhile(t, s, "/cat")
	peak = max(peak, proctest.StatusKB(t, pid, "VmRSS"))
	t.Logf("server RSS peaked at %d KiB", peak)
	if peak > maxRSS {
		t.Errorf("server RSS reached %d KiB", peak)
	}
}

func TestNonReadingChildSlowsClient(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "deaf"), "echo $$; exec sleep 300")
	writeScript(t, filepath.Join(dir, "cat"), "exec cat")
	s := startServer(t, "--dir="+dir)
	pid := s.cmd.Process.Pid
	var tcp *net.TCPConn
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			tcp = conn.(*net.TCPConn)
		}
		return conn, err
	}}
	c := dialWith(t, "ws://"+s.addr+"/deaf", &websocket.DialOptions{HTTPClient: &http.Client{Transport: transport}})
	child := wstest.ReadPID(t, c)
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		msg := make([]byte, 64<<10)
		for c.Write(context.Background(), websocket.MessageBinary, msg) == nil {
			sent.Add(int64(len(msg)))
		}
	}()
	// Wait until the client's writes stall.
	peak := 0
	last := int64(-1)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		peak = max(peak, proctest.StatusKB(t, pid, "VmRSS"))
		if v := sent.Load(); v == last {
			break
		} else {
			last = v
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client could still write after %d bytes", last)
		}
	}
	servedMeanwhile(t, s, "/cat")
	peak = max(peak, proctest.StatusKB(t, pid, "VmRSS"))
	t.Logf("the client wrote %d KiB before it blocked; server RSS peaked at %d KiB", last>>10, peak)
	if last > 32<<20 {
		t.Errorf("%d bytes accepted from a client whose program does not read", last)
	}
	if peak > maxRSS {
		t.Errorf("server RSS reached %d KiB", peak)
	}
	// The server cannot read the socket past what it holds for the
	// child, but its probe finds the client gone.
	tcp.SetLinger(0)
	tcp.Close()
	<-done
	proctest.WaitGone(t, child, 10*time.Second)
}

func TestHalfOpenRequestsTimeOut(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := startServer(t, "cat")
	start := time.Now()
	var wg sync.WaitGroup
	closedAfter := make(chan time.Duration, 100)
	for range 100 {
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"))
		wg.Go(func() {
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 512)
			for {
				if _, err := conn.Read(buf); err != nil {
					closedAfter <- time.Since(start)
					return
				}
			}
		})
	}
	servedMeanwhile(t, s, "/")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a normal client took %v to be served", took)
	}
	wg.Wait()
	close(closedAfter)
	for d := range closedAfter {
		// The header timeout is 10 s by default.
		if d > 12*time.Second {
			t.Fatalf("a half-open request was closed only after %v", d)
		}
	}
}

func TestCloseWhileChildFloods(t *testing.T) {
	t.Parallel()
	// The server answers a client's close frame even while its program
	// writes as fast as it can and the frames of its output are held
	// back to leave together.
	s := startServer(t, "yes")
	for range 2 {
		c := s.dial("/")
		for range 10 {
			wstest.Expect(t, c, websocket.MessageText, "y")
		}
		if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Fatalf("close handshake: %v", err)
		}
	}
}
