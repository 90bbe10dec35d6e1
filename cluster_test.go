package main_test

// End-to-end tests of --cluster: a --broadcast program shared by the
// clients of many wsbridge instances through a real NATS server, run in
// the test's process with JetStream on.

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// natsServer is a NATS server with JetStream, run by the test.
type natsServer struct {
	t    *testing.T
	opts natsserver.Options
	srv  *natsserver.Server
}

// startNATS starts a NATS server with JetStream on a free port of
// 127.0.0.1, its store in a directory of the test, and max_payload
// maxPayload bytes (0 for the server's default). It is shut down at the
// end of the test.
func startNATS(t *testing.T, maxPayload int32) *natsServer {
	t.Helper()
	n := &natsServer{t: t, opts: natsserver.Options{
		Host:       "127.0.0.1",
		Port:       freePort(t),
		JetStream:  true,
		StoreDir:   t.TempDir(),
		MaxPayload: maxPayload,
		NoSigs:     true,
		NoLog:      true,
	}}
	n.start()
	t.Cleanup(n.stop)
	return n
}

// start starts the server, on the port and with the store it had before.
func (n *natsServer) start() {
	n.t.Helper()
	opts := n.opts
	srv, err := natsserver.NewServer(&opts)
	if err != nil {
		n.t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("the NATS server did not start")
	}
	n.srv = srv
}

// stop shuts the server down.
func (n *natsServer) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// url is the address wsbridge connects to.
func (n *natsServer) url() string {
	return fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port)
}

// startInstances starts n wsbridge instances sharing the NATS server
// nats with args (flags, then the command) after --broadcast and
// --cluster.
func startInstances(t *testing.T, nats *natsServer, n int, args ...string) []*server {
	t.Helper()
	var ss []*server
	for range n {
		ss = append(ss, startServer(t, append([]string{"--broadcast", "--cluster=" + nats.url()}, args...)...))
	}
	return ss
}

// holders returns the instances among ss that logged that they started
// the group's program (or took it over) and how many times in all.
func holders(ss []*server, messages ...string) (holding []*server, n int) {
	for _, s := range ss {
		s.mu.Lock()
		k := 0
		for _, ev := range s.logs {
			for _, m := range messages {
				if ev["message"] == m {
					k++
				}
			}
		}
		s.mu.Unlock()
		if k > 0 {
			holding = append(holding, s)
			n += k
		}
	}
	return holding, n
}

// expectPid reads a line from c, "PID LINE" from pidLines, and returns
// the pid after checking the line.
func expectPid(t *testing.T, c *websocket.Conn, line string) int {
	t.Helper()
	_, msg, err := c.Read(wstest.Context(t))
	if err != nil {
		t.Fatalf("waiting for %q: %v", line, err)
	}
	p, rest, _ := strings.Cut(string(msg), " ")
	pid, err := strconv.Atoi(p)
	if err != nil || rest != line {
		t.Fatalf("got %q, want a pid and %q", msg, line)
	}
	return pid
}

func TestClusterChatAcrossInstances(t *testing.T) {
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 3, "examples/chat.sh")
	var cs []*websocket.Conn
	for _, s := range ss {
		cs = append(cs, s.dial("/room"))
	}
	// The first message waits for the program to start; each client
	// then gets every line, from whichever instance it was said on.
	chatAround(t, cs, "hello from instance %d")
	if _, n := holders(ss, "cluster program started", "cluster program taken over"); n != 1 {
		t.Errorf("the program was started %d times, want once", n)
	}
}

func TestClusterOneProgramUntilTheLastClientAnywhereLeaves(t *testing.T) {
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 2, "sh", "-c", pidLines)
	a, b := ss[0].dial("/"), ss[1].dial("/")
	wstest.Send(t, a, websocket.MessageText, "from a")
	pid := expectPid(t, a, "from a")
	if got := expectPid(t, b, "from a"); got != pid {
		t.Fatalf("b got the line from pid %d, a from %d", got, pid)
	}
	holding, _ := holders(ss, "cluster program started")
	if len(holding) != 1 {
		t.Fatalf("%d instances started the program, want 1", len(holding))
	}
	// The client of the holder leaves: the program goes on for the
	// other instance's.
	for i, s := range ss {
		if s == holding[0] {
			[]*websocket.Conn{a, b}[i].Close(websocket.StatusNormalClosure, "")
			b = []*websocket.Conn{a, b}[1-i]
		}
	}
	wstest.Send(t, b, websocket.MessageText, "still here")
	if got := expectPid(t, b, "still here"); got != pid {
		t.Fatalf("pid %d answered, want the first program, %d", got, pid)
	}
	b.Close(websocket.StatusNormalClosure, "")
	holding[0].event("cluster program stopped: no clients left")
	proctest.WaitGone(t, pid, 10*time.Second)
}

func TestClusterExitStatusReachesEveryInstance(t *testing.T) {
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 2, "sh", "-c", `read l; echo "$l"; exit 3`)
	a, b := ss[0].dial("/"), ss[1].dial("/")
	// b's instance is a member once its client is accepted: the line
	// reaches it.
	ss[1].event("connected")
	wstest.Send(t, a, websocket.MessageText, "last words")
	for _, c := range []*websocket.Conn{a, b} {
		wstest.Expect(t, c, websocket.MessageText, "last words")
		wstest.ExpectClose(t, c, websocket.StatusInternalError, "exit status 3")
	}
}

func TestClusterTwoInstancesRacingStartOneProgram(t *testing.T) {
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 3, "sh", "-c", pidLines)
	for round := range 5 {
		path := fmt.Sprintf("/race%d", round)
		cs := make([]*websocket.Conn, len(ss))
		var wg sync.WaitGroup
		for i, s := range ss {
			wg.Go(func() {
				c, _, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+path, nil)
				if err != nil {
					t.Error(err)
					return
				}
				t.Cleanup(func() { c.CloseNow() })
				cs[i] = c
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		// Each client's line is answered by one and the same program.
		pid := 0
		for i, c := range cs {
			line := fmt.Sprintf("client %d", i)
			wstest.Send(t, c, websocket.MessageText, line)
			for _, r := range cs {
				got := expectPid(t, r, line)
				if pid != 0 && got != pid {
					t.Fatalf("round %d: pids %d and %d both answered", round, pid, got)
				}
				pid = got
			}
		}
	}
	if _, n := holders(ss, "cluster program started", "cluster program taken over"); n != 5 {
		t.Errorf("%d programs started for 5 groups, want 5", n)
	}
}

func TestClusterHolderKilledGroupResumes(t *testing.T) {
	skipShort(t) // waits out the lease
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 3, "--metrics-address=127.0.0.1:0", "sh", "-c", pidLines)
	cs := make([]*websocket.Conn, len(ss))
	for i, s := range ss {
		cs[i] = s.dial("/")
		s.event("connected")
	}
	wstest.Send(t, cs[0], websocket.MessageText, "before")
	pid := 0
	for _, c := range cs {
		pid = expectPid(t, c, "before")
	}
	holding, _ := holders(ss, "cluster program started")
	if len(holding) != 1 {
		t.Fatalf("%d instances started the program, want 1", len(holding))
	}
	var survivors []*websocket.Conn
	var rest []*server
	for i, s := range ss {
		if s != holding[0] {
			survivors = append(survivors, cs[i])
			rest = append(rest, s)
		}
	}
	killed := time.Now()
	holding[0].kill()
	// Its program dies with it.
	proctest.WaitGone(t, pid, 10*time.Second)
	// Another instance takes the group over, and its clients, which were
	// never dropped, talk to the fresh program.
	proctest.Eventually(t, 20*time.Second, func() error {
		if _, n := holders(rest, "cluster program taken over"); n != 1 {
			return fmt.Errorf("%d instances took the program over, want 1", n)
		}
		return nil
	})
	t.Logf("taken over %v after the SIGKILL", time.Since(killed).Round(100*time.Millisecond))
	wstest.Send(t, survivors[0], websocket.MessageText, "after")
	fresh := 0
	for _, c := range survivors {
		fresh = expectPid(t, c, "after")
	}
	if fresh == pid {
		t.Errorf("pid %d answered after the failover, the program that died", pid)
	}
	for _, s := range rest {
		s.mu.Lock()
		for _, ev := range s.logs {
			if ev["message"] == "disconnected" {
				t.Errorf("a client of a surviving instance was dropped: %v", ev)
			}
		}
		s.mu.Unlock()
	}
	taker, _ := holders(rest, "cluster program taken over")
	metrics := metricLines(t, taker[0].event("serving metrics")["address"].(string))
	for _, l := range []string{"wsbridge_cluster_failovers_total 1", "wsbridge_cluster_programs 1", "wsbridge_cluster_connected 1"} {
		if !metrics[l] {
			t.Errorf("the metrics of the instance that took over lack %q", l)
		}
	}
}

func TestClusterUnreachableRefuses503ThenReconnects(t *testing.T) {
	port := freePort(t)
	nats := &natsServer{t: t, opts: natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}}
	t.Cleanup(nats.stop)
	s := startServer(t, "--broadcast", "--cluster="+nats.url(), "sh", "-c", pidLines)
	// Per-client sessions are another instance's business; here, with
	// NATS down, a broadcast client is refused with 503, and logged.
	_, resp, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("dialing with NATS down: %v, %v; want 503", err, resp)
	}
	s.eventSaying("refused", "reason", "cluster unavailable")
	nats.start()
	s.event("cluster connected")
	c, resp, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", nil)
	if err != nil {
		t.Fatalf("dialing once NATS is back: %v, %v; log: %v", err, resp, s.events("refused", 2)[1])
	}
	t.Cleanup(func() { c.CloseNow() })
	wstest.Send(t, c, websocket.MessageText, "back")
	expectPid(t, c, "back")
}

func TestClusterFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster=nats://127.0.0.1:4222", "cat"}, "--cluster needs --broadcast"},
		{[]string{"--broadcast", "--cluster-name=x", "cat"}, "need --cluster"},
		{[]string{"--broadcast", "--cluster=http://127.0.0.1:4222", "cat"}, "want nats://HOST:PORT"},
		{[]string{"--broadcast", "--cluster=nats://127.0.0.1:4222", "--cluster-creds=/nonexistent", "cat"}, "--cluster-creds: open /nonexistent"},
	} {
		code, _, stderr := runBinary(t, "", nil, append([]string{"--port=0"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want an error saying %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestClusterMessageLargerThanMaxPayloadClosed1009(t *testing.T) {
	nats := startNATS(t, 1024)
	s := startServer(t, "--broadcast", "--cluster="+nats.url(), "cat")
	s.event("cluster carries smaller client messages than --maxframesize: a larger one is closed with 1009; raise the NATS server's max_payload to lift it")
	c := s.dial("/")
	roundTrip(t, c, websocket.MessageText, strings.Repeat("a", 1023))
	wstest.Send(t, c, websocket.MessageText, strings.Repeat("b", 1024))
	wstest.ExpectClose(t, c, websocket.StatusMessageTooBig, "read limited at 1024 bytes")
}

func TestClusterLinesReach300ClientsOnceInOrder(t *testing.T) {
	skipShort(t)
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 3, "cat")
	const perInstance, lines = 100, 50
	var cs []*websocket.Conn
	for _, s := range ss {
		for range perInstance {
			cs = append(cs, s.dial("/"))
		}
		s.events("connected", perInstance)
	}
	// A client's message comes back once the program runs and its
	// instance takes the output: every client is served from then on.
	roundTrip(t, cs[0], websocket.MessageText, "ready")
	for _, c := range cs[1:] {
		wstest.Expect(t, c, websocket.MessageText, "ready")
	}
	go func() {
		for i := range lines {
			cs[len(cs)-1].Write(wstest.Context(t), websocket.MessageText, []byte(fmt.Sprintf("line %d", i)))
		}
	}()
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			for n := range lines {
				_, msg, err := c.Read(wstest.Context(t))
				if err != nil {
					t.Errorf("client %d, line %d: %v", i, n, err)
					return
				}
				if want := fmt.Sprintf("line %d", n); string(msg) != want {
					t.Errorf("client %d got %q, want %q", i, msg, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestClusterNATSRestartedUnderLoad(t *testing.T) {
	skipShort(t)
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 2, "--metrics-address=127.0.0.1:0", "sh", "-c", `while echo tick; do sleep 0.02; done`)
	var fds, goroutines []int
	for _, s := range ss {
		fds = append(fds, proctest.OpenFDs(t, s.cmd.Process.Pid))
		goroutines = append(goroutines, goroutineCount(t, s))
	}
	var cs []*websocket.Conn
	for _, s := range ss {
		for range 10 {
			cs = append(cs, s.dial("/"))
		}
	}
	for _, c := range cs {
		wstest.Expect(t, c, websocket.MessageText, "tick")
	}
	nats.stop()
	for _, s := range ss {
		s.event("cluster disconnected")
	}
	// The holder cannot renew its lease: it stops its program.
	proctest.Eventually(t, 20*time.Second, func() error {
		if holding, _ := holders(ss, "cluster lease lost"); len(holding) != 1 {
			return fmt.Errorf("%d instances lost the lease, want 1", len(holding))
		}
		return nil
	})
	nats.start()
	// Each client is either served by a fresh program or closed with a
	// reason; none hangs.
	for i, c := range cs {
		for {
			_, msg, err := c.Read(wstest.Context(t))
			if err != nil {
				if code := websocket.CloseStatus(err); code != websocket.StatusInternalError {
					t.Fatalf("client %d ended with %v, want 1011 and a reason", i, err)
				}
				break
			}
			if string(msg) == "tick" {
				break
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}
	for i, s := range ss {
		s.settle(fds[i] + 2)
		proctest.Eventually(t, 20*time.Second, func() error {
			if n := goroutineCount(t, s); n > goroutines[i]+5 {
				return fmt.Errorf("%d goroutines where there were %d", n, goroutines[i])
			}
			return nil
		})
	}
	for _, s := range ss {
		s.mu.Lock()
		n := 0
		for _, ev := range s.logs {
			if ev["message"] == "disconnected" {
				n++
			}
		}
		s.mu.Unlock()
		if n != 10 {
			t.Errorf("%d clients logged as gone, want 10", n)
		}
	}
}

// goroutineCount returns the goroutines of s, from its metrics.
func goroutineCount(t *testing.T, s *server) int {
	t.Helper()
	for l := range metricLines(t, s.event("serving metrics")["address"].(string)) {
		if v, ok := strings.CutPrefix(l, "go_goroutines "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no go_goroutines in the metrics")
	return 0
}

func TestClusterChatBehindNginxRoundRobin(t *testing.T) {
	nats := startNATS(t, 0)
	ss := startInstances(t, nats, 3, "examples/chat.sh")
	proxy := startNginx(t, nginx{
		upstreams: [2]string{ss[0].addr, ss[1].addr},
		more:      []string{ss[2].addr},
		drop:      []string{"least_conn;"},
	})
	var cs []*websocket.Conn
	for range 6 {
		c, _, err := websocket.Dial(wstest.Context(t), "ws://"+proxy+"/ws/room", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		cs = append(cs, c)
	}
	// Round robin: two clients on each instance.
	for _, s := range ss {
		s.events("connected", 2)
	}
	chatAround(t, cs, "hello from client %d")
}

// chatAround has each client of cs, in turn, say a line of format (with
// its index) to examples/chat.sh, and every client read it back after
// the time.
func chatAround(t *testing.T, cs []*websocket.Conn, format string) {
	t.Helper()
	for i, c := range cs {
		line := fmt.Sprintf(format, i)
		wstest.Send(t, c, websocket.MessageText, line)
		for _, r := range cs {
			_, msg, err := r.Read(wstest.Context(t))
			if err != nil {
				t.Fatalf("waiting for %q: %v", line, err)
			}
			if _, said, _ := strings.Cut(string(msg), " "); said != line {
				t.Fatalf("got %q, want the time and %q", msg, line)
			}
		}
	}
}
