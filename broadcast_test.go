package main_test

// End-to-end tests of --broadcast: one program shared by the clients of a
// path.

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// roundTrip has c send msg, of type typ, to a program that echoes it,
// and has c, then each of others, read it back. Once its own message came
// back, a client is served, and gets every line after.
func roundTrip(t *testing.T, c *websocket.Conn, typ websocket.MessageType, msg string, others ...*websocket.Conn) {
	t.Helper()
	wstest.Send(t, c, typ, msg)
	for _, r := range append([]*websocket.Conn{c}, others...) {
		wstest.Expect(t, r, typ, msg)
	}
}

// pidLines is a program that answers each line with its pid and the line.
const pidLines = `while read l; do echo "$$ $l"; done`

// say has c send line to a program running pidLines and has c and each
// of others read the answer; it returns the pid that answered. Once its
// own line came back, a client is served, and gets every line after.
func say(t *testing.T, c *websocket.Conn, line string, others ...*websocket.Conn) int {
	t.Helper()
	wstest.Send(t, c, websocket.MessageText, line)
	pid := 0
	for _, r := range append([]*websocket.Conn{c}, others...) {
		_, msg, err := r.Read(wstest.Context(t))
		if err != nil {
			t.Fatalf("waiting for %q: %v", line, err)
		}
		p, rest, _ := strings.Cut(string(msg), " ")
		n, err := strconv.Atoi(p)
		if err != nil || rest != line || pid != 0 && n != pid {
			t.Fatalf("got %q, want a pid and %q", msg, line)
		}
		pid = n
	}
	return pid
}

func TestBroadcastClientsSeeEachOthersLines(t *testing.T) {
	s := startServer(t, "--broadcast", "cat")
	a := s.dial("/")
	roundTrip(t, a, websocket.MessageText, "hello from a")
	// A client that comes later gets the lines from then on.
	b := s.dial("/")
	roundTrip(t, b, websocket.MessageText, "hello from b", a)
	roundTrip(t, a, websocket.MessageText, "bye from a", b)
	if evs := s.events("connected", 2); evs[0]["pid"] != evs[1]["pid"] {
		t.Errorf("the clients were given two programs: %v", evs)
	}
}

func TestBroadcastOneProgramPerPathUntilTheLastLeaves(t *testing.T) {
	s := startServer(t, "--broadcast", "sh", "-c", pidLines)
	a := s.dial("/room")
	pid := say(t, a, "a")
	b := s.dial("/room")
	if got := say(t, b, "b", a); got != pid {
		t.Fatalf("the second client got pid %d, the first %d", got, pid)
	}
	if other := say(t, s.dial("/other"), "c"); other == pid {
		t.Fatal("another path got the same program")
	}

	// The first client leaves: the program runs on for the second.
	a.Close(websocket.StatusNormalClosure, "")
	if ev := s.event("disconnected"); ev["exit"] != nil || ev["close_code"] != float64(1000) {
		t.Errorf("the first client's end logged as %v: the program runs on", ev)
	}
	say(t, b, "still here")

	// The last one leaves: the program is stopped, and the next client
	// gets a new one.
	b.Close(websocket.StatusNormalClosure, "")
	proctest.WaitGone(t, pid, 10*time.Second)
	if ev := s.events("broadcast program ended", 1)[0]; ev["pid"] != float64(pid) || ev["path"] != "/room" {
		t.Errorf("end of the program logged as %v", ev)
	}
	if again := say(t, s.dial("/room"), "d"); again == pid {
		t.Fatal("a new client got the stopped program")
	}
}

func TestBroadcastExitStatusReachesEveryClient(t *testing.T) {
	s := startServer(t, "--broadcast", "sh", "-c", `while read l; do echo "$l"; [ "$l" = quit ] && { echo "bye, $l" >&2; exit 3; }; done`)
	a := s.dial("/")
	roundTrip(t, a, websocket.MessageText, "a")
	b := s.dial("/")
	roundTrip(t, b, websocket.MessageText, "b", a)
	wstest.Send(t, a, websocket.MessageText, "quit")
	for _, c := range []*websocket.Conn{a, b} {
		wstest.Expect(t, c, websocket.MessageText, "quit")
		wstest.ExpectClose(t, c, websocket.StatusInternalError, "exit status 3: bye, quit")
	}
	for _, ev := range s.events("disconnected", 2) {
		if ev["exit"] != "exit status 3" || ev["close_code"] != float64(1011) {
			t.Errorf("access event %v", ev)
		}
	}
}

func TestBroadcastDirOneProgramPerScript(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "one.sh"), pidLines)
	writeScript(t, filepath.Join(dir, "two.sh"), pidLines)
	s := startServer(t, "--broadcast", "--dir="+dir)
	a := s.dial("/one.sh/lobby")
	one := say(t, a, "a")
	// Another PATH_INFO, the same program.
	if got := say(t, s.dial("/one.sh/games?x=1"), "b", a); got != one {
		t.Fatalf("/one.sh/games got pid %d, /one.sh/lobby %d", got, one)
	}
	if two := say(t, s.dial("/two.sh"), "c"); two == one {
		t.Fatal("two scripts share a program")
	}
}

func TestBroadcastEnvironmentIsTheFirstClients(t *testing.T) {
	s := startServerEnv(t, []string{"BROADCAST_TEST=passed"}, "--address=127.0.0.1", "--port=0",
		"--broadcast", "--passenv=PATH,BROADCAST_TEST", "sh", "-c", `while read l; do echo "$BROADCAST_TEST $QUERY_STRING $l"; done`)
	a := s.dial("/room?who=a")
	wstest.Send(t, a, websocket.MessageText, "x")
	wstest.Expect(t, a, websocket.MessageText, "passed who=a x")
	b := s.dial("/room?who=b")
	wstest.Send(t, b, websocket.MessageText, "y")
	wstest.Expect(t, b, websocket.MessageText, "passed who=a y")
}

func TestBroadcastBinary(t *testing.T) {
	s := startServer(t, "--broadcast", "--binary", "cat")
	a := s.dial("/")
	roundTrip(t, a, websocket.MessageBinary, "a")
	b := s.dial("/")
	roundTrip(t, b, websocket.MessageBinary, "\x00\x01\xff\r\n no newline is added \xc3", a)
}

func TestBroadcastSlowClientClosed1008(t *testing.T) {
	skipShort(t)
	t.Parallel()
	// The program echoes until "go", then prints 20,000 numbered lines
	// of 1,000 bytes. The queue is well above what the sockets of a
	// client that does not read take in: while they fill up, that client
	// reads faster than one that does.
	s := startServer(t, "--broadcast", "--broadcast-queue=4194304", "--metrics-address=127.0.0.1:0", "sh", "-c",
		`while read l; do echo "$l"; [ "$l" = go ] && break; done; seq -f '%01000.0f' 20000`)
	maddr := s.event("serving metrics")["address"].(string)
	reader := s.dial("/")
	roundTrip(t, reader, websocket.MessageText, "reader")
	idle := s.dial("/")
	roundTrip(t, idle, websocket.MessageText, "idle", reader)

	// The idle client reads nothing more: it is closed with 1008 while
	// the reader gets every line.
	roundTrip(t, reader, websocket.MessageText, "go")
	ctx := wstest.Context(t)
	for i := 1; i <= 20000; i++ {
		_, got, err := reader.Read(ctx)
		if n, _ := strconv.Atoi(string(got)); err != nil || n != i || len(got) != 1000 {
			t.Fatalf("line %d: %.20q, %v", i, got, err)
		}
	}
	wstest.ExpectClose(t, reader, websocket.StatusNormalClosure, "")

	slow := s.event("slow client closed")
	var gone map[string]any
	for _, ev := range s.events("disconnected", 2) {
		if ev["id"] == slow["id"] {
			gone = ev
		}
	}
	if gone["close_code"] != float64(websocket.StatusPolicyViolation) || gone["close_reason"] != "too slow: output queue full" {
		t.Errorf("the idle client's end logged as %v", gone)
	}
	if !metricLines(t, maddr)["wsbridge_broadcast_slow_clients_total 1"] {
		t.Error("/metrics does not count the slow client")
	}
}

func TestBroadcastSIGTERM(t *testing.T) {
	s := startServer(t, "--broadcast", "sh", "-c", `while read l; do echo "$l"; done; echo bye`)
	a := s.dial("/")
	roundTrip(t, a, websocket.MessageText, "a")
	b := s.dial("/")
	roundTrip(t, b, websocket.MessageText, "b", a)
	s.terminate(a, b)
}

func TestBroadcastKeepsOriginsAndFrameLimit(t *testing.T) {
	s := startServer(t, "--broadcast", "--origin=allowed.example", "--maxframesize=10", "cat")
	if status := dialStatus(t, "ws://"+s.addr+"/", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://elsewhere.example"}},
	}); status != 403 {
		t.Errorf("foreign origin: %d, want 403", status)
	}
	a := s.dial("/")
	roundTrip(t, a, websocket.MessageText, "0123456789")
	b := s.dial("/")
	wstest.Send(t, b, websocket.MessageText, "0123456789a")
	if _, _, err := b.Read(wstest.Context(t)); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("got %v, want close 1009", err)
	}
	// The others are served on.
	roundTrip(t, a, websocket.MessageText, "still here")
}

func TestBroadcastOneProgramPerSubprotocol(t *testing.T) {
	s := startServer(t, "--broadcast", "--protocol=v1,v2", "sh", "-c", `while read l; do echo "$$ $WEBSOCKET_PROTOCOL $l"; done`)
	dial := func(protocol string) *websocket.Conn {
		return dialWith(t, "ws://"+s.addr+"/room", &websocket.DialOptions{Subprotocols: []string{protocol}})
	}
	answer := func(c *websocket.Conn, line string) (pid, protocol string) {
		t.Helper()
		wstest.Send(t, c, websocket.MessageText, line)
		_, msg, err := c.Read(wstest.Context(t))
		f := strings.Fields(string(msg))
		if err != nil || len(f) != 3 || f[2] != line {
			t.Fatalf("got %q, %v; want a pid, a protocol and %q", msg, err, line)
		}
		return f[0], f[1]
	}
	pid1, p1 := answer(dial("v1"), "a")
	pid1again, _ := answer(dial("v1"), "b")
	pid2, p2 := answer(dial("v2"), "c")
	if p1 != "v1" || p2 != "v2" || pid1again != pid1 || pid2 == pid1 {
		t.Errorf("v1 clients got programs %s and %s (%s), a v2 client %s (%s): want one program for each subprotocol",
			pid1, pid1again, p1, pid2, p2)
	}
}

func TestBroadcastClientsCountForMaxPerIP(t *testing.T) {
	s := startServer(t, "--broadcast", "--max-per-ip=1", "cat")
	roundTrip(t, s.dial("/"), websocket.MessageText, "a")
	// Joining a running program is a session all the same.
	if status := dialStatus(t, "ws://"+s.addr+"/", nil); status != http.StatusTooManyRequests {
		t.Fatalf("a second client from the address: %d, want 429", status)
	}
}
