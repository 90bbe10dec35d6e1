package bridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
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
	"go.uber.org/goleak"

	"wsbridge/bridge/wstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeChild is a child made of pipes; run is its program and what run
// returns its exit status. Stop closes stdin, gives run a second to return
// and then "kills" it: closes killed and its output pipes.
type fakeChild struct {
	stdinR, stdoutR, stderrR *io.PipeReader
	stdinW, stdoutW, stderrW *io.PipeWriter
	killed                   chan struct{}
	done                     chan struct{}
	exit                     error
	stopped                  chan struct{}
	stopOnce                 sync.Once
}

func startFake(run func(stdin io.Reader, stdout, stderr io.Writer) error) *fakeChild {
	return startFakeKillable(func(stdin io.Reader, stdout, stderr io.Writer, _ <-chan struct{}) error {
		return run(stdin, stdout, stderr)
	})
}

func startFakeKillable(run func(stdin io.Reader, stdout, stderr io.Writer, killed <-chan struct{}) error) *fakeChild {
	c := &fakeChild{done: make(chan struct{}), stopped: make(chan struct{}), killed: make(chan struct{})}
	c.stdinR, c.stdinW = io.Pipe()
	c.stdoutR, c.stdoutW = io.Pipe()
	c.stderrR, c.stderrW = io.Pipe()
	go func() {
		c.exit = run(c.stdinR, c.stdoutW, c.stderrW, c.killed)
		c.stdinR.Close()
		c.stdoutW.Close()
		c.stderrW.Close()
		close(c.done)
	}()
	return c
}

func (c *fakeChild) Stdin() io.WriteCloser { return c.stdinW }
func (c *fakeChild) Stdout() io.Reader     { return c.stdoutR }
func (c *fakeChild) Stderr() io.Reader     { return c.stderrR }
func (c *fakeChild) Done() <-chan struct{} { return c.done }
func (c *fakeChild) Wait() error           { <-c.done; return c.exit }

func (c *fakeChild) Stop() {
	c.stopOnce.Do(func() {
		close(c.stopped)
		c.stdinW.Close()
		select {
		case <-c.done:
		case <-time.After(time.Second):
			close(c.killed)
			c.stdoutR.Close()
			c.stderrR.Close()
		}
	})
	<-c.done
}

// rev reverses each line until stdin ends.
func rev(stdin io.Reader, stdout, _ io.Writer) error {
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		b := []byte(sc.Text())
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		if _, err := stdout.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// serve runs a session for child behind a real WebSocket server and
// returns a connected client and the session's result to come.
func serve(t testing.TB, ctx context.Context, child Child, cfg SessionConfig, readLimit int64) (*websocket.Conn, <-chan Result) {
	t.Helper()
	return serveWith(t, ctx, child, cfg, readLimit, nil, nil)
}

// serveWith is serve with the options of the server's accept and the
// client's dial.
func serveWith(t testing.TB, ctx context.Context, child Child, cfg SessionConfig, readLimit int64, accept *websocket.AcceptOptions, dial *websocket.DialOptions) (*websocket.Conn, <-chan Result) {
	t.Helper()
	results := make(chan Result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Accept(w, r, accept)
		if err != nil {
			t.Error(err)
			return
		}
		if readLimit != 0 {
			conn.SetReadLimit(readLimit)
		}
		Start(ctx, conn, child, cfg, func(r Result) { results <- r })
	}))
	t.Cleanup(srv.Close)
	dialCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(srv.URL, "http"), dial)
	if err != nil {
		t.Fatal(err)
	}
	client.SetReadLimit(-1)
	t.Cleanup(func() { client.CloseNow() })
	return client, results
}

func result(t testing.TB, results <-chan Result) Result {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("session did not end")
		return Result{}
	}
}

func TestLinesBothWays(t *testing.T) {
	child := startFake(rev)
	c, results := serve(t, context.Background(), child, SessionConfig{}, 0)
	for _, m := range []string{"hello", "", "world"} {
		wstest.Send(t, c, websocket.MessageText, m)
		wstest.Expect(t, c, websocket.MessageText, reverse(m))
	}
	c.Close(websocket.StatusNormalClosure, "")
	r := result(t, results)
	if r.Code != websocket.StatusNormalClosure || r.ClientErr == nil {
		t.Errorf("result %+v: want the client's 1000", r)
	}
	if r.MessagesIn != 3 || r.MessagesOut != 3 || r.BytesIn != 10 || r.BytesOut != 10 {
		t.Errorf("counts %+v", r)
	}
	select {
	case <-child.stopped:
	default:
		t.Error("child not stopped when the client left")
	}
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func TestExitStatusClosesConnection(t *testing.T) {
	for _, tc := range []struct {
		exit   error
		code   websocket.StatusCode
		reason string
	}{
		{nil, websocket.StatusNormalClosure, ""},
		{errors.New("exit status 3"), websocket.StatusInternalError, "exit status 3"},
		{errors.New(strings.Repeat("x", 200)), websocket.StatusInternalError, strings.Repeat("x", 120) + "..."},
		{errors.New(strings.Repeat("é", 100)), websocket.StatusInternalError, strings.Repeat("é", 60) + "..."},
	} {
		child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
			io.WriteString(stdout, "first\r\nlast line without newline")
			return tc.exit
		})
		c, results := serve(t, context.Background(), child, SessionConfig{}, 0)
		wstest.Expect(t, c, websocket.MessageText, "first")
		wstest.Expect(t, c, websocket.MessageText, "last line without newline")
		wstest.ExpectClose(t, c, tc.code, tc.reason)
		if r := result(t, results); r.Code != tc.code || r.Exit != tc.exit || r.ClientErr != nil {
			t.Errorf("result %+v", r)
		}
	}
}

// stderrReasons are what a child writes on stderr before it exits with
// status 1, and the close reason its client should then get.
var stderrReasons = []struct {
	name, stderr, reason string
}{
	{"none", "", "exit status 1"},
	{"one line", "oops\n", "exit status 1: oops"},
	{"the last one not blank", "first\n  last words \r\n\n \t\n", "exit status 1: last words"},
	{"no newline", "first\nunterminated", "exit status 1: unterminated"},
	{"invalid UTF-8", "bad \xff byte\n", "exit status 1: bad \ufffd byte"},
	{"cut between runes", strings.Repeat("é", 100) + "\n", "exit status 1: " + strings.Repeat("é", 52) + "..."},
	{"longer than a logged piece", strings.Repeat("a", 3*maxStderrLine) + "\nz" + strings.Repeat("b", 3*maxStderrLine),
		"exit status 1: z" + strings.Repeat("b", 120-len("exit status 1: z")) + "..."},
}

func TestExitReasonEndsWithLastStderrLine(t *testing.T) {
	for _, tc := range stderrReasons {
		t.Run(tc.name, func(t *testing.T) {
			child := startFake(func(_ io.Reader, stdout, stderr io.Writer) error {
				io.WriteString(stderr, tc.stderr)
				io.WriteString(stdout, "out\n")
				return errors.New("exit status 1")
			})
			c, results := serve(t, context.Background(), child, SessionConfig{}, 0)
			wstest.Expect(t, c, websocket.MessageText, "out")
			wstest.ExpectClose(t, c, websocket.StatusInternalError, tc.reason)
			if r := result(t, results); r.Reason != tc.reason {
				t.Errorf("result %+v", r)
			}
		})
	}
	t.Run("status 0", func(t *testing.T) {
		child := startFake(func(_ io.Reader, _, stderr io.Writer) error {
			io.WriteString(stderr, "just a warning\n")
			return nil
		})
		c, results := serve(t, context.Background(), child, SessionConfig{}, 0)
		wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
		result(t, results)
	})
}

func TestLongLineStreamsAsOneMessage(t *testing.T) {
	line := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
		io.WriteString(stdout, line+"\nshort\n")
		return nil
	})
	c, results := serve(t, context.Background(), child, SessionConfig{}, 0)
	wstest.Expect(t, c, websocket.MessageText, line)
	wstest.Expect(t, c, websocket.MessageText, "short")
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	if r := result(t, results); r.MessagesOut != 2 || r.BytesOut != int64(len(line)+5) {
		t.Errorf("counts %+v", r)
	}
}

func TestBinaryModeExactBytes(t *testing.T) {
	child := startFake(func(stdin io.Reader, stdout, _ io.Writer) error {
		_, err := io.Copy(stdout, stdin)
		return err
	})
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{Binary: true}}, 0)
	payload := []byte("\x00\xff\r\n\xc3 no newline added")
	if err := c.Write(wstest.Context(t), websocket.MessageBinary, payload); err != nil {
		t.Fatal(err)
	}
	wstest.Expect(t, c, websocket.MessageBinary, string(payload))
	c.Close(websocket.StatusNormalClosure, "")
	result(t, results)
}

// quoteFive reads five bytes and writes them back quoted, on a line.
func quoteFive(stdin io.Reader, stdout, _ io.Writer) error {
	b := make([]byte, 5)
	if _, err := io.ReadFull(stdin, b); err != nil {
		return err
	}
	_, err := io.WriteString(stdout, strconv.Quote(string(b))+"\n")
	return err
}

// expectRawInput has c send four messages to quoteFive and checks that
// their five bytes reached it as they are: with a newline after each
// message it would get "ab\nc\n\xc3".
func expectRawInput(t *testing.T, c *websocket.Conn) {
	t.Helper()
	for _, m := range []string{"ab", "", "c", "é"} {
		wstest.Send(t, c, websocket.MessageText, m)
	}
	wstest.Expect(t, c, websocket.MessageText, `"abcé"`)
}

func TestRawInputAddsNoNewline(t *testing.T) {
	child := startFake(quoteFive)
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{RawInput: true}}, 0)
	expectRawInput(t, c)
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	if r := result(t, results); r.MessagesIn != 4 || r.BytesIn != 5 {
		t.Errorf("counts %+v", r)
	}
}

func TestStderrLines(t *testing.T) {
	child := startFake(func(_ io.Reader, _, stderr io.Writer) error {
		io.WriteString(stderr, "warning: one\r\ntwo\nunterminated")
		return nil
	})
	var got []string
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{Stderr: func(line []byte) {
		got = append(got, string(line))
	}}}, 0)
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	result(t, results)
	if want := "warning: one|two|unterminated"; strings.Join(got, "|") != want {
		t.Errorf("stderr lines %q, want %q", got, want)
	}
}

func TestShutdownDeliversOutputThenGoingAway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	child := startFake(func(stdin io.Reader, stdout, _ io.Writer) error {
		io.Copy(io.Discard, stdin) // runs until stdin closes
		io.WriteString(stdout, "goodbye\n")
		return nil
	})
	c, results := serve(t, ctx, child, SessionConfig{}, 0)
	wstest.Send(t, c, websocket.MessageText, "ping")
	cancel()
	wstest.Expect(t, c, websocket.MessageText, "goodbye")
	wstest.ExpectClose(t, c, websocket.StatusGoingAway, shutdownReason)
	result(t, results)
}

func TestOversizedMessage(t *testing.T) {
	child := startFake(rev)
	c, results := serve(t, context.Background(), child, SessionConfig{}, 10)
	wstest.Send(t, c, websocket.MessageText, "short")
	wstest.Expect(t, c, websocket.MessageText, "trohs")
	wstest.Send(t, c, websocket.MessageText, "this is longer than ten bytes")
	wstest.ExpectClose(t, c, websocket.StatusMessageTooBig, "read limited at 11 bytes")
	if r := result(t, results); r.Code != websocket.StatusMessageTooBig {
		t.Errorf("result %+v", r)
	}
}

func TestOversizedMessageNeverReachesChild(t *testing.T) {
	got := make(chan string, 1)
	child := startFake(func(stdin io.Reader, _, _ io.Writer) error {
		b, _ := io.ReadAll(stdin) // until the session closes stdin
		got <- string(b)
		return nil
	})
	c, results := serve(t, context.Background(), child, SessionConfig{}, 10)
	wstest.Send(t, c, websocket.MessageText, "short")
	wstest.Send(t, c, websocket.MessageText, "this is longer than ten bytes")
	wstest.ExpectClose(t, c, websocket.StatusMessageTooBig, "read limited at 11 bytes")
	result(t, results)
	if stdin := <-got; stdin != "short\n" {
		t.Errorf("the child read %q, want only the message within the limit", stdin)
	}
}

func TestChildThatStopsReadingBlocksClient(t *testing.T) {
	// The child reads one line and then nothing: the client's writes end
	// up blocked by TCP, not buffered, and leaving still stops the child,
	// with or without pings.
	if testing.Short() {
		t.Skip("takes seconds by design, waiting twice for the client's writes to stall: runs without -short")
	}
	probeInterval = 50 * time.Millisecond
	defer func() { probeInterval = 5 * time.Second }()
	for _, ping := range []time.Duration{0, 50 * time.Millisecond} {
		child := startFakeKillable(func(stdin io.Reader, stdout, _ io.Writer, killed <-chan struct{}) error {
			bufio.NewReader(stdin).ReadString('\n')
			<-killed
			return errors.New("signal: killed")
		})
		c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{PingInterval: ping}}, 0)
		var sent atomic.Int64
		go func() {
			msg := bytes.Repeat([]byte("z"), 1024)
			for c.Write(context.Background(), websocket.MessageText, msg) == nil {
				sent.Add(int64(len(msg)))
			}
		}()
		last := waitStalled(&sent)
		if last > 64<<20 {
			t.Fatalf("%d bytes accepted from the client before it blocked", last)
		}
		c.CloseNow()
		if r := result(t, results); r.ClientErr == nil || r.Exit == nil {
			t.Errorf("pings every %v: result %+v", ping, r)
		}
	}
}

// yes writes lines of 1,023 y's without end, adding what it wrote to
// written.
func yes(written *atomic.Int64) func(stdin io.Reader, stdout, stderr io.Writer) error {
	return func(_ io.Reader, stdout, _ io.Writer) error {
		line := append(bytes.Repeat([]byte("y"), 1023), '\n')
		for {
			if _, err := stdout.Write(line); err != nil {
				return err
			}
			written.Add(int64(len(line)))
		}
	}
}

// waitStalled waits until n has not moved for 200 ms and returns it.
func waitStalled(n *atomic.Int64) int64 {
	last := int64(-1)
	for {
		time.Sleep(200 * time.Millisecond)
		if v := n.Load(); v == last {
			return v
		} else {
			last = v
		}
	}
}

func TestClientThatStopsReadingBlocksChild(t *testing.T) {
	// The child writes without end; a client that does not read makes
	// its writes block once the socket buffers are full.
	if testing.Short() {
		t.Skip("takes seconds by design, waiting for the child's writes to stall: runs without -short")
	}
	var written atomic.Int64
	child := startFake(yes(&written))
	c, results := serve(t, context.Background(), child, SessionConfig{}, 0)
	if last := waitStalled(&written); last > 64<<20 {
		t.Fatalf("%d bytes written before the child blocked", last)
	}
	c.CloseNow()
	r := result(t, results)
	if r.ClientErr == nil {
		t.Errorf("result %+v", r)
	}
}

func TestClientThatStopsReadingIsDropped(t *testing.T) {
	// A client that does not read leaves a write unfinished for
	// WriteTimeout: it is dropped, and its child stopped.
	child := startFake(yes(new(atomic.Int64)))
	_, results := serve(t, context.Background(), child, SessionConfig{WriteTimeout: 100 * time.Millisecond}, 0)
	if r := result(t, results); r.ClientErr != ErrWriteStalled || r.Code != websocket.StatusAbnormalClosure {
		t.Errorf("result %+v", r)
	}
}

func TestMissedPongsDropClient(t *testing.T) {
	child := startFake(rev)
	// The client never reads, so it never answers a ping.
	_, results := serve(t, context.Background(), child, SessionConfig{Config: Config{PingInterval: 20 * time.Millisecond}}, 0)
	r := result(t, results)
	if !errors.Is(r.ClientErr, ErrPongMissed) {
		t.Fatalf("result %+v, want a missed pong", r)
	}
}

func TestPingsKeepReadingClient(t *testing.T) {
	child := startFake(rev)
	// The interval leaves a busy machine time to answer; the session
	// still lasts several of them.
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{PingInterval: 50 * time.Millisecond}}, 0)
	// A client that reads answers pings; it stays connected through many.
	for i := 0; i < 30; i++ {
		wstest.Send(t, c, websocket.MessageText, "abc")
		wstest.Expect(t, c, websocket.MessageText, "cba")
		time.Sleep(10 * time.Millisecond)
	}
	c.Close(websocket.StatusNormalClosure, "")
	if r := result(t, results); r.ClientErr == ErrPongMissed {
		t.Fatal("reading client dropped")
	}
}

func TestPingsKeepSlowReaderOfBacklog(t *testing.T) {
	// More output than the sockets on the way hold: a ping sent while
	// the client pauses waits behind all of it.
	if testing.Short() {
		t.Skip("takes seconds by design, reading a backlog slowly: runs without -short")
	}
	const n = 80000
	line := strings.Repeat("x", 99) + "\n"
	child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
		w := bufio.NewWriter(stdout)
		for range n {
			w.WriteString(line)
		}
		return w.Flush()
	})
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{PingInterval: 50 * time.Millisecond}}, 0)
	// The client pauses long enough for a ping, then takes the backlog
	// far more slowly than the pong may be late: it is reading, so it
	// gets every line.
	time.Sleep(300 * time.Millisecond)
	for i := range n {
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
		if _, _, err := c.Read(wstest.Context(t)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	if r := result(t, results); r.ClientErr != nil {
		t.Fatalf("client error %v", r.ClientErr)
	}
}

func TestPassStderr(t *testing.T) {
	child := startFake(func(_ io.Reader, stdout, stderr io.Writer) error {
		io.WriteString(stdout, "out \"quoted\"\n")
		io.WriteString(stderr, "err\tline\n")
		io.WriteString(stdout, "last")
		return nil
	})
	var logged []string
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{PassStderr: true, Stderr: func(line []byte) {
		logged = append(logged, string(line))
	}}}, 0)
	// The streams are read side by side: only each one's order is fixed.
	var got []string
	for i := 0; i < 3; i++ {
		_, msg, err := c.Read(wstest.Context(t))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msg))
	}
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	r := result(t, results)
	out := slices.DeleteFunc(slices.Clone(got), func(m string) bool { return strings.Contains(m, "stderr") })
	if want := []string{`{"stream":"stdout","data":"out \"quoted\""}`, `{"stream":"stdout","data":"last"}`}; !slices.Equal(out, want) {
		t.Errorf("stdout messages %q, want %q", out, want)
	}
	if !slices.Contains(got, `{"stream":"stderr","data":"err\tline"}`) {
		t.Errorf("no stderr message in %q", got)
	}
	if !slices.Equal(logged, []string{"err\tline"}) {
		t.Errorf("logged %q", logged)
	}
	if r.MessagesOut != 3 {
		t.Errorf("result %+v", r)
	}
}

// A stderr line longer than a logged piece is still one message, and is
// logged in pieces.
func TestPassStderrLongLine(t *testing.T) {
	line := strings.Repeat("é", 3*maxPending)
	child := startFake(func(_ io.Reader, _, stderr io.Writer) error {
		io.WriteString(stderr, line+"\n")
		return nil
	})
	var logged []string
	c, results := serve(t, context.Background(), child, SessionConfig{Config: Config{PassStderr: true, Stderr: func(line []byte) {
		logged = append(logged, string(line))
	}}}, 0)
	wstest.Expect(t, c, websocket.MessageText, `{"stream":"stderr","data":"`+line+`"}`)
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	if r := result(t, results); r.MessagesOut != 1 {
		t.Errorf("result %+v", r)
	}
	if len(logged) < 2 || strings.Join(logged, "") != line {
		t.Errorf("logged in %d pieces, not the line", len(logged))
	}
}

func TestNoPingsWhileOutputFlows(t *testing.T) {
	stop := make(chan struct{})
	child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return nil
			case <-t.C:
				io.WriteString(stdout, "tick\n")
			}
		}
	})
	// A ping is wrong when a tick came less than half an interval before
	// it. A pause of the whole process, which a busy machine can make,
	// holds the ticks back too, and a ping after it is right.
	const interval = 50 * time.Millisecond
	var lastTick atomic.Int64 // when the client read a tick, in Unix nanoseconds
	var pings atomic.Int64    // the wrong ones
	results := make(chan Result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		Start(context.Background(), conn, child, SessionConfig{Config: Config{PingInterval: interval}}, func(r Result) { results <- r })
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.Dial(wstest.Context(t), "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool {
			if time.Since(time.Unix(0, lastTick.Load())) < interval/2 {
				pings.Add(1)
			}
			return true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// Output every 5 ms for 10 intervals: no ping.
	for end := time.Now().Add(10 * interval); time.Now().Before(end); {
		wstest.Expect(t, c, websocket.MessageText, "tick")
		lastTick.Store(time.Now().UnixNano())
	}
	if n := pings.Load(); n != 0 {
		t.Errorf("%d pings while output flowed", n)
	}
	// The program ends; the session closes as usual, after the ticks
	// still on their way.
	close(stop)
	for {
		_, msg, err := c.Read(wstest.Context(t))
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatalf("want close 1000, got %v", err)
			}
			break
		}
		if string(msg) != "tick" {
			t.Fatalf("got %q", msg)
		}
	}
	result(t, results)
}

func TestEndingBeforeCloseFrame(t *testing.T) {
	for _, clientGoes := range []bool{false, true} {
		var ended atomic.Int64
		child := startFake(rev)
		cfg := SessionConfig{Ending: func() { ended.Add(1) }}
		c, results := serve(t, context.Background(), child, cfg, 0)
		wstest.Send(t, c, websocket.MessageText, "abc")
		wstest.Expect(t, c, websocket.MessageText, "cba")
		if clientGoes {
			c.Close(websocket.StatusNormalClosure, "")
		} else {
			// rev exits at the end of its stdin; the close frame
			// comes once the session has ended.
			child.stdinW.Close()
			wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
			if ended.Load() != 1 {
				t.Error("the close frame came before Ending was called")
			}
		}
		result(t, results)
		if n := ended.Load(); n != 1 {
			t.Errorf("client goes %v: Ending called %d times", clientGoes, n)
		}
	}
}
