package bridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// broadcastServer serves a Broadcast behind a real WebSocket server: each client
// that dials is served with Run, counted in beforehand by the test
// (NewBroadcast counts the first one in, Join the others). The server's
// sockets have send buffers of a fixed size: what a client that does not
// read takes in before its queue fills up stays well under the queue.
type broadcastServer struct {
	t      *testing.T
	url    string
	ending func() // passed to each Run

	mu      sync.Mutex
	results map[string]chan Result
}

func serveBroadcast(t *testing.T, bc *Broadcast, readLimit int64) *broadcastServer {
	t.Helper()
	bs := &broadcastServer{t: t, results: map[string]chan Result{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		if readLimit != 0 {
			conn.SetReadLimit(readLimit)
		}
		bs.mu.Lock()
		results := bs.results[r.URL.Query().Get("id")]
		bs.mu.Unlock()
		results <- bc.Run(conn, bs.ending)
	}))
	srv.Config.ConnState = func(c net.Conn, state http.ConnState) {
		if state == http.StateNew {
			c.(*net.TCPConn).SetWriteBuffer(socketBuffer)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	bs.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return bs
}

// socketBuffer is the size asked for the send buffers of broadcastServer's
// sockets (the system doubles it). Smaller than a few times the largest
// segment, TCP would stall for seconds.
const socketBuffer = 64 << 10

// dial connects a client and returns it with its session's result to
// come.
func (bs *broadcastServer) dial() (*websocket.Conn, <-chan Result) {
	bs.t.Helper()
	results := make(chan Result, 1)
	bs.mu.Lock()
	id := strconv.Itoa(len(bs.results))
	bs.results[id] = results
	bs.mu.Unlock()
	c, _, err := websocket.Dial(wstest.Context(bs.t), bs.url+"/?id="+id, nil)
	if err != nil {
		bs.t.Fatal(err)
	}
	c.SetReadLimit(-1)
	bs.t.Cleanup(func() { c.CloseNow() })
	return c, results
}

// join counts in and connects one more client of bc.
func (bs *broadcastServer) join(bc *Broadcast) (*websocket.Conn, <-chan Result) {
	bs.t.Helper()
	if !bc.Join() {
		bs.t.Fatal("the broadcast took no more clients")
	}
	return bs.dial()
}

// echo writes back each line it reads until stdin ends; after a line
// "quit" it returns the error quit gives.
func echo(quit error) func(stdin io.Reader, stdout, _ io.Writer) error {
	return func(stdin io.Reader, stdout, _ io.Writer) error {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if _, err := fmt.Fprintf(stdout, "%s\n", sc.Bytes()); err != nil {
				return err
			}
			if sc.Text() == "quit" {
				return quit
			}
		}
		return nil
	}
}

// expectAll has every client read want.
func expectAll(t *testing.T, want string, clients ...*websocket.Conn) {
	t.Helper()
	for _, c := range clients {
		wstest.Expect(t, c, websocket.MessageText, want)
	}
}

// roundTrip has c send msg to a child that echoes it, and has c, then
// each of others, read it back. Once its own message came back, a client
// is served, and gets every line after.
func roundTrip(t *testing.T, c *websocket.Conn, msg string, others ...*websocket.Conn) {
	t.Helper()
	wstest.Send(t, c, websocket.MessageText, msg)
	expectAll(t, msg, append([]*websocket.Conn{c}, others...)...)
}

// pair connects two clients of bc, whose child echoes: a, which sends
// "a", then b, which joins and sends "b". Both are served once they
// have read back "b".
func (bs *broadcastServer) pair(bc *Broadcast) (a *websocket.Conn, ra <-chan Result, b *websocket.Conn, rb <-chan Result) {
	bs.t.Helper()
	a, ra = bs.dial()
	roundTrip(bs.t, a, "a")
	b, rb = bs.join(bc)
	roundTrip(bs.t, b, "b", a)
	return a, ra, b, rb
}

// sendMany has c send n text messages from a goroutine of wg, message i
// being msg(i).
func sendMany(t *testing.T, wg *sync.WaitGroup, c *websocket.Conn, n int, msg func(i int) []byte) {
	wg.Go(func() {
		for i := range n {
			if err := c.Write(wstest.Context(t), websocket.MessageText, msg(i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
}

// numbered returns the messages of a client named name for sendMany:
// its name followed by the message's number.
func numbered(name string) func(i int) []byte {
	return func(i int) []byte { return []byte(name + strconv.Itoa(i)) }
}

// stopped reports whether the fake child has been asked to stop.
func (c *fakeChild) stoppedYet() bool {
	select {
	case <-c.stopped:
		return true
	default:
		return false
	}
}

func TestBroadcastEveryLineToEveryClientInOneOrder(t *testing.T) {
	child := startFake(echo(nil))
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bs := serveBroadcast(t, bc, 0)
	// A client that joins gets the lines printed from then on.
	a, _, b, _ := bs.pair(bc)
	c, _ := bs.join(bc)
	roundTrip(t, c, "c", a, b)

	// Two clients send at once: every client sees all the lines, in one
	// order, which keeps each sender's own order.
	const n = 200
	var wg sync.WaitGroup
	sendMany(t, &wg, a, n, numbered("a"))
	sendMany(t, &wg, b, n, numbered("b"))
	var seen [][]string
	for _, client := range []*websocket.Conn{a, b, c} {
		var got []string
		next := map[byte]int{}
		for range 2 * n {
			_, msg, err := client.Read(wstest.Context(t))
			if err != nil {
				t.Fatal(err)
			}
			if want := string(msg[0]) + strconv.Itoa(next[msg[0]]); string(msg) != want {
				t.Fatalf("got %q, want %q", msg, want)
			}
			next[msg[0]]++
			got = append(got, string(msg))
		}
		seen = append(seen, got)
	}
	wg.Wait()
	for i := 1; i < len(seen); i++ {
		if strings.Join(seen[i], " ") != strings.Join(seen[0], " ") {
			t.Fatalf("client %d saw another order than client 0", i)
		}
	}
}

// lineSizes answers each line with its first byte and its length, or
// with "mixed" for a line of more than one byte value: a line made of
// two clients' messages shows.
func lineSizes(stdin io.Reader, stdout, _ io.Writer) error {
	r := bufio.NewReaderSize(stdin, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil
		}
		line = line[:len(line)-1]
		if bytes.Count(line, line[:1]) != len(line) {
			fmt.Fprintf(stdout, "mixed\n")
			continue
		}
		fmt.Fprintf(stdout, "%c %d\n", line[0], len(line))
	}
}

func TestBroadcastLinesFromClientsNeverMix(t *testing.T) {
	child := startFake(lineSizes)
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bs := serveBroadcast(t, bc, -1)
	a, _ := bs.dial()
	wstest.Send(t, a, websocket.MessageText, "a")
	expectAll(t, "a 1", a)
	b, _ := bs.join(bc)
	wstest.Send(t, b, websocket.MessageText, "b")
	expectAll(t, "b 1", b, a)
	const n, size = 20, 300 << 10 // longer than a pipe's buffer
	var wg sync.WaitGroup
	msgA, msgB := bytes.Repeat([]byte{'a'}, size), bytes.Repeat([]byte{'b'}, size)
	sendMany(t, &wg, a, n, func(int) []byte { return msgA })
	sendMany(t, &wg, b, n, func(int) []byte { return msgB })
	counts := map[string]int{}
	for range 2 * n {
		_, msg, err := a.Read(wstest.Context(t))
		if err != nil {
			t.Fatal(err)
		}
		counts[string(msg)]++
	}
	wg.Wait()
	want := map[string]int{fmt.Sprintf("a %d", size): n, fmt.Sprintf("b %d", size): n}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("the child read %v, want %v", counts, want)
	}
}

func TestBroadcastDropsSlowClientOthersKeepReceiving(t *testing.T) {
	// The child echoes until "go", then writes numbered lines until its
	// stdin ends.
	child := startFake(func(stdin io.Reader, stdout, _ io.Writer) error {
		r := bufio.NewReader(stdin)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return nil
			}
			io.WriteString(stdout, line)
			if line == "go\n" {
				break
			}
		}
		eof := make(chan struct{})
		go func() { io.Copy(io.Discard, r); close(eof) }()
		pad := strings.Repeat(".", 1000)
		for i := 0; ; i++ {
			select {
			case <-eof:
				return nil
			default:
			}
			if _, err := fmt.Fprintf(stdout, "%d %s\n", i, pad); err != nil {
				return err
			}
		}
	})
	// The queue is well above what the sockets of a client that does not
	// read take in (a send buffer and a receive window of a few hundred
	// KiB): only a client that reads slower than the other is dropped.
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bs := serveBroadcast(t, bc, 0)
	fast, fastResult, slow, slowResult := bs.pair(bc)
	roundTrip(t, fast, "go")

	// The slow client reads nothing more; the fast one gets every line
	// while the slow one is dropped, and after.
	i := 0
	readLine := func() {
		t.Helper()
		_, msg, err := fast.Read(wstest.Context(t))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if n, _, _ := strings.Cut(string(msg), " "); n != strconv.Itoa(i) {
			t.Fatalf("line %d is %.20q", i, msg)
		}
		i++
	}
	for deadline := time.Now().Add(20 * time.Second); len(members(bc)) > 1; {
		if time.Now().After(deadline) {
			t.Fatalf("the slow client was not dropped after %d lines", i)
		}
		readLine()
	}

	for range 1000 {
		readLine()
	}

	// What reached the slow client's socket before it was dropped is
	// still there, then the close frame.
	for {
		_, _, err := slow.Read(wstest.Context(t))
		if err != nil {
			if ce := (websocket.CloseError{}); !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != slowReason {
				t.Fatalf("the slow client read %v, want 1008 %q", err, slowReason)
			}
			break
		}
	}
	if r := result(t, slowResult); r.Code != websocket.StatusPolicyViolation || !errors.Is(r.ClientErr, ErrSlowClient) {
		t.Errorf("slow client's result %+v", r)
	}
	if child.stoppedYet() {
		t.Fatal("the child was stopped with a client left")
	}
	fast.Close(websocket.StatusNormalClosure, "")
	if r := result(t, fastResult); r.ClientErr == nil || errors.Is(r.ClientErr, ErrSlowClient) {
		t.Errorf("fast client's result %+v", r)
	}
}

// members returns the clients bc serves.
func members(bc *Broadcast) []*member {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	var ms []*member
	for m := range bc.members {
		ms = append(ms, m)
	}
	return ms
}

func TestBroadcastAloneSlowClientSlowsChild(t *testing.T) {
	// With nobody faster, a client that does not read is not dropped:
	// the child is not read, and blocks, as in a session of its own.
	if testing.Short() {
		t.Skip("takes seconds by design, waiting for the child's writes to stall: runs without -short")
	}
	var written atomic.Int64
	child := startFake(yes(&written))
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{QueueSize: 16 << 10})
	bs := serveBroadcast(t, bc, 0)
	c, results := bs.dial()
	if last := waitStalled(&written); last > 64<<20 {
		t.Fatalf("%d bytes written before the child blocked", last)
	}
	if len(members(bc)) != 1 {
		t.Fatal("the only client was dropped")
	}
	c.CloseNow()
	result(t, results)
}

func TestPublishDropsOnlyClientsBehind(t *testing.T) {
	// A piece larger than the whole queue: the client with less than the
	// read-ahead waiting takes it, the one past it is dropped.
	bc := &Broadcast{queue: 1000, ahead: 500, started: true, count: 2, members: map[*member]struct{}{}}
	bc.room.L = &bc.mu
	newMember := func(pending int) *member {
		m := &member{b: bc, pending: pending, wake: make(chan struct{}, 1), slow: make(chan struct{})}
		bc.members[m] = struct{}{}
		return m
	}
	fastest, behind := newMember(100), newMember(600)
	bc.publish(&piece{typ: websocket.MessageText, data: make([]byte, 64<<10), final: true}, false)
	if _, ok := bc.members[fastest]; !ok || len(fastest.queue) != 1 {
		t.Error("the fastest client did not take the piece")
	}
	select {
	case <-behind.slow:
	default:
		t.Error("the client past the read-ahead was not dropped")
	}
	if _, ok := bc.members[behind]; ok {
		t.Error("the dropped client is still served")
	}
}

func TestBroadcastExitStatusReachesEveryClient(t *testing.T) {
	for _, tc := range []struct {
		exit   error
		code   websocket.StatusCode
		reason string
	}{
		{nil, websocket.StatusNormalClosure, ""},
		{errors.New("exit status 3"), websocket.StatusInternalError, "exit status 3"},
	} {
		child := startFake(echo(tc.exit))
		bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
		a, ra, b, rb := serveBroadcast(t, bc, 0).pair(bc)
		wstest.Send(t, a, websocket.MessageText, "quit")
		for _, c := range []*websocket.Conn{a, b} {
			wstest.Expect(t, c, websocket.MessageText, "quit")
			wstest.ExpectClose(t, c, tc.code, tc.reason)
		}
		for _, results := range []<-chan Result{ra, rb} {
			if r := result(t, results); r.Code != tc.code || r.Exit != tc.exit || r.ClientErr != nil {
				t.Errorf("result %+v", r)
			}
		}
		if bc.Join() {
			t.Error("a broadcast whose child exited took a client")
		}
		if child.stoppedYet() {
			t.Error("a child that exited was stopped")
		}
	}
}

func TestBroadcastExitReasonEndsWithLastStderrLine(t *testing.T) {
	for _, tc := range stderrReasons {
		t.Run(tc.name, func(t *testing.T) {
			child := startFake(func(stdin io.Reader, stdout, stderr io.Writer) error {
				quit := errors.New("exit status 1")
				if echo(quit)(stdin, stdout, nil) == quit {
					io.WriteString(stderr, tc.stderr)
				}
				return quit
			})
			bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
			a, ra, b, rb := serveBroadcast(t, bc, 0).pair(bc)
			wstest.Send(t, a, websocket.MessageText, "quit")
			for _, c := range []*websocket.Conn{a, b} {
				wstest.Expect(t, c, websocket.MessageText, "quit")
				wstest.ExpectClose(t, c, websocket.StatusInternalError, tc.reason)
			}
			for _, results := range []<-chan Result{ra, rb} {
				if r := result(t, results); r.Reason != tc.reason {
					t.Errorf("result %+v", r)
				}
			}
		})
	}
}

func TestBroadcastLastClientOutStopsChild(t *testing.T) {
	child := startFake(echo(nil))
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	a, ra, b, rb := serveBroadcast(t, bc, 0).pair(bc)

	a.Close(websocket.StatusNormalClosure, "")
	result(t, ra)
	if child.stoppedYet() {
		t.Fatal("the child was stopped with a client left")
	}
	roundTrip(t, b, "still here")

	b.Close(websocket.StatusNormalClosure, "")
	r := result(t, rb)
	if !child.stoppedYet() {
		t.Fatal("the child still runs with no client left")
	}
	select {
	case <-bc.Done():
	default:
		t.Fatal("the last client's Run returned before the broadcast ended")
	}
	if r.Exit != nil || bc.Wait() != nil {
		t.Errorf("exit %v, %v; want the child's status 0", r.Exit, bc.Wait())
	}
	if bc.Join() {
		t.Error("a broadcast with no client left took a new one")
	}
}

func TestBroadcastJoinNeverGetsDyingChild(t *testing.T) {
	// The last client leaves while another joins: the joiner either gets
	// the running child, which then runs on, or is turned away.
	for range 50 {
		child := startFake(echo(nil))
		bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
		bs := serveBroadcast(t, bc, 0)
		a, ra := bs.dial()
		roundTrip(t, a, "a")
		joined := make(chan bool)
		go func() { joined <- bc.Join() }()
		a.CloseNow()
		if <-joined {
			if child.stoppedYet() {
				t.Fatal("a client joined a child being stopped")
			}
			b, rb := bs.dial()
			roundTrip(t, b, "b")
			b.Close(websocket.StatusNormalClosure, "")
			result(t, rb)
		}
		result(t, ra)
		if !child.stoppedYet() {
			t.Fatal("the child still runs with no client left")
		}
	}
}

func TestBroadcastLeaveOfClientNeverServed(t *testing.T) {
	// The first client's connection was not accepted: its child, whose
	// output nobody waits for, is stopped.
	child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
		for {
			if _, err := io.WriteString(stdout, "unheard\n"); err != nil {
				return err
			}
		}
	})
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bc.Leave()
	select {
	case <-bc.Done():
	default:
		t.Fatal("Leave of the last client returned before the broadcast ended")
	}
	if !child.stoppedYet() {
		t.Fatal("the child was not stopped")
	}
}

func TestBroadcastShutdownDeliversThenGoingAway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	child := startFake(func(stdin io.Reader, stdout, _ io.Writer) error {
		echo(nil)(stdin, stdout, nil) // runs until stdin closes
		io.WriteString(stdout, "goodbye\n")
		return nil
	})
	bc := NewBroadcast(ctx, child, BroadcastConfig{})
	a, ra, b, rb := serveBroadcast(t, bc, 0).pair(bc)
	cancel()
	for _, c := range []*websocket.Conn{a, b} {
		wstest.Expect(t, c, websocket.MessageText, "goodbye")
		wstest.ExpectClose(t, c, websocket.StatusGoingAway, shutdownReason)
	}
	for _, results := range []<-chan Result{ra, rb} {
		if r := result(t, results); r.Code != websocket.StatusGoingAway {
			t.Errorf("result %+v", r)
		}
	}
}

func TestBroadcastLateClientStartsAtNextLine(t *testing.T) {
	// The child writes the start of a long line, waits for a line on
	// stdin, then ends the long line and writes another.
	long := strings.Repeat("x", 100<<10)
	wrote := make(chan struct{})
	child := startFake(func(stdin io.Reader, stdout, _ io.Writer) error {
		// The write returns once the long line's first piece went out
		// (a pipe writes as it is read).
		io.WriteString(stdout, long)
		close(wrote)
		bufio.NewReader(stdin).ReadString('\n')
		io.WriteString(stdout, "end\nnext\n")
		return nil
	})
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bs := serveBroadcast(t, bc, 0)
	a, _ := bs.dial()
	<-wrote
	late, _ := bs.join(bc)
	// The child reads this line once the late client is served.
	wstest.Send(t, late, websocket.MessageText, "joined")
	wstest.Expect(t, a, websocket.MessageText, long+"end")
	expectAll(t, "next", a, late)
	wstest.ExpectClose(t, a, websocket.StatusNormalClosure, "")
	wstest.ExpectClose(t, late, websocket.StatusNormalClosure, "")
}

func TestBroadcastBinary(t *testing.T) {
	child := startFake(func(stdin io.Reader, stdout, _ io.Writer) error {
		_, err := io.Copy(stdout, stdin)
		return err
	})
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{Config: Config{Binary: true}})
	bs := serveBroadcast(t, bc, 0)
	a, _ := bs.dial()
	if err := a.Write(wstest.Context(t), websocket.MessageBinary, []byte("a")); err != nil {
		t.Fatal(err)
	}
	wstest.Expect(t, a, websocket.MessageBinary, "a")
	b, _ := bs.join(bc)
	payload := []byte("\x00\xff\r\n\xc3 no newline added")
	if err := b.Write(wstest.Context(t), websocket.MessageBinary, payload); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{a, b} {
		wstest.Expect(t, c, websocket.MessageBinary, string(payload))
	}
}

func TestBroadcastPassStderr(t *testing.T) {
	// Once both clients sent a line, both are served.
	child := startFake(func(stdin io.Reader, stdout, stderr io.Writer) error {
		r := bufio.NewReader(stdin)
		r.ReadString('\n')
		r.ReadString('\n')
		io.WriteString(stdout, "out\n")
		io.WriteString(stderr, "err\n")
		return nil
	})
	var logged []string
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{Config: Config{PassStderr: true, Stderr: func(line []byte) {
		logged = append(logged, string(line))
	}}})
	bs := serveBroadcast(t, bc, 0)
	a, _ := bs.dial()
	b, _ := bs.join(bc)
	wstest.Send(t, a, websocket.MessageText, "a")
	wstest.Send(t, b, websocket.MessageText, "b")
	for _, c := range []*websocket.Conn{a, b} {
		got := map[string]bool{}
		for range 2 {
			_, msg, err := c.Read(wstest.Context(t))
			if err != nil {
				t.Fatal(err)
			}
			got[string(msg)] = true
		}
		if !got[`{"stream":"stdout","data":"out"}`] || !got[`{"stream":"stderr","data":"err"}`] {
			t.Errorf("got %v", got)
		}
		wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	}
	bc.Wait()
	if strings.Join(logged, "|") != "err" {
		t.Errorf("logged %q", logged)
	}
}

func TestBroadcastOversizedMessage(t *testing.T) {
	child := startFake(echo(nil))
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	a, ra, b, _ := serveBroadcast(t, bc, 10).pair(bc)
	wstest.Send(t, a, websocket.MessageText, "this is longer than ten bytes")
	wstest.ExpectClose(t, a, websocket.StatusMessageTooBig, "read limited at 11 bytes")
	if r := result(t, ra); r.Code != websocket.StatusMessageTooBig {
		t.Errorf("result %+v", r)
	}
	roundTrip(t, b, "others")
}

func TestBroadcastMissedPongsDropClient(t *testing.T) {
	child := startFake(echo(nil))
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{Config: Config{PingInterval: 20 * time.Millisecond}})
	bs := serveBroadcast(t, bc, 0)
	// The client never reads, so it never answers a ping.
	_, results := bs.dial()
	if r := result(t, results); !errors.Is(r.ClientErr, ErrPongMissed) {
		t.Fatalf("result %+v, want a missed pong", r)
	}
}

func TestBroadcastRawInput(t *testing.T) {
	child := startFake(quoteFive)
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{Config: Config{RawInput: true}})
	bs := serveBroadcast(t, bc, 0)
	c, _ := bs.dial()
	expectRawInput(t, c)
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
}

func TestBroadcastMaxRateIsEachClients(t *testing.T) {
	// Two clients send a burst and a half each: each waits for its own
	// rate, and the child gets every line.
	const perSecond, n = 100, 150
	lines := make(chan map[string]int, 1)
	child := startFake(func(stdin io.Reader, _, _ io.Writer) error {
		got := map[string]int{}
		sc := bufio.NewScanner(stdin)
		for i := 0; i < 2*n && sc.Scan(); i++ {
			got[sc.Text()[:1]]++
		}
		lines <- got
		return nil
	})
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{Config: Config{MaxRate: perSecond}})
	bs := serveBroadcast(t, bc, 0)
	a, _ := bs.dial()
	b, _ := bs.join(bc)
	start := time.Now()
	var wg sync.WaitGroup
	sendMany(t, &wg, a, n, numbered("a"))
	sendMany(t, &wg, b, n, numbered("b"))
	wg.Wait()
	if got := <-lines; got["a"] != n || got["b"] != n {
		t.Fatalf("the child read %v", got)
	}
	// The first burst goes at once, the rest at the rate.
	if min := time.Duration(n-perSecond) * time.Second / perSecond; time.Since(start) < min {
		t.Errorf("%d messages each in %v, under %v", n, time.Since(start), min)
	}
}

func TestBroadcastEndingBeforeEachCloseFrame(t *testing.T) {
	var ended atomic.Int64
	child := startFake(echo(nil))
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bs := serveBroadcast(t, bc, 0)
	bs.ending = func() { ended.Add(1) }
	a, ra, b, rb := bs.pair(bc)
	roundTrip(t, b, "quit", a)
	for i, c := range []*websocket.Conn{a, b} {
		wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
		if n := ended.Load(); n < int64(i+1) {
			t.Errorf("a close frame came before its client's ending: %d called", n)
		}
	}
	result(t, ra)
	result(t, rb)
	if n := ended.Load(); n != 2 {
		t.Errorf("ending called %d times, want 2", n)
	}
}

// waitTurnTaken waits until a client of bc has its turn at stdin.
func waitTurnTaken(t *testing.T, bc *Broadcast) {
	t.Helper()
	proctest.Eventually(t, 10*time.Second, func() error {
		if len(bc.turn) == 0 {
			return errors.New("no client took its turn at stdin")
		}
		return nil
	})
}

func TestBroadcastSlowSenderLosesTurn(t *testing.T) {
	// a begins a message of three chunks and sends no more: once it has
	// kept the child waiting for longer than a turn may, it is closed
	// with 1008, what the child got of its message ends as a line of its
	// own, and b's message, which waited, follows.
	child := startFake(lineSizes)
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bc.turnWait = 200 * time.Millisecond
	bs := serveBroadcast(t, bc, -1)
	a, ra := bs.dial()
	wstest.Send(t, a, websocket.MessageText, "a")
	expectAll(t, "a 1", a)
	b, rb := bs.join(bc)
	wstest.Send(t, b, websocket.MessageText, "b")
	expectAll(t, "b 1", b, a)

	w, err := a.Writer(wstest.Context(t), websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("a"), 3*inputChunk)); err != nil {
		t.Fatal(err)
	}
	waitTurnTaken(t, bc)
	wstest.Send(t, b, websocket.MessageText, "b")
	// The client library keeps the end of what a writes until its next
	// frame: the child gets whole chunks of a's message.
	_, got, err := b.Read(wstest.Context(t))
	var n int
	if _, serr := fmt.Sscanf(string(got), "a %d", &n); err != nil || serr != nil || n < inputChunk || n%inputChunk != 0 {
		t.Fatalf("got %q, %v; want a line of whole chunks of a's message", got, err)
	}
	expectAll(t, "b 1", b)
	// a may have been sent those lines before it was closed.
	for {
		_, _, err := a.Read(wstest.Context(t))
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != slowSenderReason {
				t.Fatalf("a's end: %v, want close 1008 %q", err, slowSenderReason)
			}
			break
		}
	}
	if r := result(t, ra); !errors.Is(r.ClientErr, errSlowSender) || r.Code != websocket.StatusPolicyViolation {
		t.Errorf("result %+v", r)
	}
	wstest.Send(t, b, websocket.MessageText, "b")
	expectAll(t, "b 1", b)
	b.Close(websocket.StatusNormalClosure, "")
	result(t, rb)
}

func TestBroadcastTurnCountsOnlyWaitsForClient(t *testing.T) {
	// The child takes many times a turn's limit to start reading: a
	// client that sends a long message at once is not cut for it.
	if testing.Short() {
		t.Skip("takes seconds by design, a child slow to start reading: runs without -short")
	}
	child := startFake(func(stdin io.Reader, stdout, stderr io.Writer) error {
		time.Sleep(time.Second)
		return lineSizes(stdin, stdout, stderr)
	})
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bc.turnWait = 50 * time.Millisecond
	bs := serveBroadcast(t, bc, -1)
	a, _ := bs.dial()
	wstest.Send(t, a, websocket.MessageText, string(bytes.Repeat([]byte("a"), 10*inputChunk)))
	expectAll(t, fmt.Sprintf("a %d", 10*inputChunk), a)
}

func TestBroadcastCutMessageEndsItsLine(t *testing.T) {
	// a's message goes over the read limit once two chunks of it have
	// reached the child: they end as a line of their own, and b's
	// message is the next line.
	child := startFake(lineSizes)
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bs := serveBroadcast(t, bc, 2*inputChunk+100)
	a, ra := bs.dial()
	wstest.Send(t, a, websocket.MessageText, "a")
	expectAll(t, "a 1", a)
	b, _ := bs.join(bc)
	wstest.Send(t, b, websocket.MessageText, "b")
	expectAll(t, "b 1", b, a)
	wstest.Send(t, a, websocket.MessageText, string(bytes.Repeat([]byte("a"), 3*inputChunk)))
	wstest.ExpectClose(t, a, websocket.StatusMessageTooBig, fmt.Sprintf("read limited at %d bytes", 2*inputChunk+101))
	result(t, ra)
	wstest.Send(t, b, websocket.MessageText, "b")
	expectAll(t, fmt.Sprintf("a %d", 2*inputChunk), b)
	expectAll(t, "b 1", b)
}

// messageChild is a child whose stdin is a MessageEnder: it records each
// message it is told of and passes it on to the child.
type messageChild struct {
	*fakeChild
	mu       sync.Mutex
	buf      []byte
	messages []string
}

func (c *messageChild) Stdin() io.WriteCloser { return c }

func (c *messageChild) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *messageChild) EndMessage() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages = append(c.messages, string(c.buf))
	_, err := c.fakeChild.Stdin().Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

func (c *messageChild) Close() error { return c.fakeChild.Stdin().Close() }

func TestBroadcastTellsStdinWhereEachMessageEnds(t *testing.T) {
	child := &messageChild{fakeChild: startFake(lineSizes)}
	bc := NewBroadcast(context.Background(), child, BroadcastConfig{})
	bs := serveBroadcast(t, bc, -1)
	a, _ := bs.dial()
	wstest.Send(t, a, websocket.MessageText, "a")
	expectAll(t, "a 1", a)
	// A message of several chunks is one message, its newline with it.
	long := string(bytes.Repeat([]byte("a"), 2*inputChunk+10))
	wstest.Send(t, a, websocket.MessageText, long)
	expectAll(t, fmt.Sprintf("a %d", len(long)), a)
	wstest.Send(t, a, websocket.MessageText, "bb")
	expectAll(t, "b 2", a)
	child.mu.Lock()
	got := child.messages
	child.mu.Unlock()
	if want := []string{"a\n", long + "\n", "bb\n"}; !slices.Equal(got, want) {
		t.Errorf("stdin was told of %d messages of %v bytes, want %d", len(got), lens(got), len(want))
	}
}

// lens returns the lengths of ss.
func lens(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}
