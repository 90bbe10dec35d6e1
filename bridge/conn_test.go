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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// A client may send its first frames right behind the handshake, in the
// same packet: net/http then holds them in its buffer when the connection
// is hijacked, and they must not be lost.
func TestFramesRightBehindTheHandshake(t *testing.T) {
	child := startFake(rev)
	results := make(chan Result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		Start(wstest.Context(t), conn, child, SessionConfig{}, func(r Result) { results <- r })
	}))
	t.Cleanup(srv.Close)

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	frames := maskedText("hello") + maskedText("world")
	if _, err := io.WriteString(c, req+frames); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %s", resp.Status)
	}
	for _, want := range []string{"olleh", "dlrow"} {
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, hdr[1]&0x7f)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if hdr[0] != 0x81 || string(payload) != want {
			t.Fatalf("got frame %#x %q, want a text frame %q", hdr[0], payload, want)
		}
	}
	c.Close()
	result(t, results)
}

func TestCloseAnsweredWhileChildFloods(t *testing.T) {
	// The child writes without pause: the frames of its output are held
	// back to leave together when the client's close frame comes, and
	// the answer to it must not be dropped with them.
	for range 3 {
		child := startFake(func(_ io.Reader, stdout, _ io.Writer) error {
			line := append(bytes.Repeat([]byte("y"), 100), '\n')
			for {
				if _, err := stdout.Write(line); err != nil {
					return err
				}
			}
		})
		c, results := serve(t, wstest.Context(t), child, SessionConfig{}, 0)
		for range 10 {
			wstest.Expect(t, c, websocket.MessageText, string(bytes.Repeat([]byte("y"), 100)))
		}
		if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Fatalf("close handshake: %v", err)
		}
		result(t, results)
	}
}

// maskedText is a client's text frame carrying s, which must be short.
func maskedText(s string) string {
	key := []byte{1, 2, 3, 4}
	b := []byte{0x81, 0x80 | byte(len(s))}
	b = append(b, key...)
	for i := range len(s) {
		b = append(b, s[i]^key[i%4])
	}
	return string(b)
}

// countingDial returns dial options whose connection counts the bytes
// read from and written to the network.
func countingDial(mode websocket.CompressionMode, read, written *atomic.Int64) *websocket.DialOptions {
	return &websocket.DialOptions{
		CompressionMode: mode,
		HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &countingConn{Conn: c, read: read, written: written}, nil
			},
		}},
	}
}

type countingConn struct {
	net.Conn
	read, written *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

var compressed = &websocket.AcceptOptions{CompressionMode: websocket.CompressionNoContextTakeover}

// permessage-deflate goes through the wire like any other bytes: the
// compressed frames of a burst of lines leave together, a long line
// streams as one compressed message in several frames, and the client's
// compressed messages are read.
func TestCompressedMessages(t *testing.T) {
	var burst []string
	for i := range 100 {
		burst = append(burst, fmt.Sprintf("%d %s", i, strings.Repeat("x", 600)))
	}
	long := strings.Repeat("compressible ", 100_000)
	child := startFake(func(stdin io.Reader, stdout, stderr io.Writer) error {
		io.WriteString(stdout, strings.Join(burst, "\n")+"\n"+long+"\n")
		return rev(stdin, stdout, stderr)
	})
	var read, written atomic.Int64
	c, results := serveWith(t, context.Background(), child, SessionConfig{}, 0, compressed,
		countingDial(websocket.CompressionNoContextTakeover, &read, &written))
	total := len(long)
	for _, line := range burst {
		wstest.Expect(t, c, websocket.MessageText, line)
		total += len(line)
	}
	wstest.Expect(t, c, websocket.MessageText, long)
	in := strings.Repeat("abc", 1000)
	wstest.Send(t, c, websocket.MessageText, in)
	wstest.Expect(t, c, websocket.MessageText, reverse(in))
	total += len(in)
	if n := read.Load(); n > int64(total)/10 {
		t.Errorf("%d bytes came over the network for %d bytes of messages", n, total)
	}
	if n := written.Load(); n > int64(len(in))/2 {
		t.Errorf("%d bytes went over the network for a message of %d", n, len(in))
	}
	c.Close(websocket.StatusNormalClosure, "")
	result(t, results)
}

// A compressed message is held to the read limit by its size once
// inflated: a small bomb is closed with 1009 like a large message.
func TestCompressedBombTooBig(t *testing.T) {
	const limit = 1 << 20
	var got atomic.Int64
	child := startFake(func(stdin io.Reader, _, _ io.Writer) error {
		n, err := io.Copy(io.Discard, stdin)
		got.Store(n)
		return err
	})
	var read, written atomic.Int64
	c, results := serveWith(t, context.Background(), child, SessionConfig{}, limit, compressed,
		countingDial(websocket.CompressionNoContextTakeover, &read, &written))
	if err := c.Write(wstest.Context(t), websocket.MessageText, make([]byte, 16<<20)); err != nil {
		t.Fatal(err)
	}
	wstest.ExpectClose(t, c, websocket.StatusMessageTooBig, fmt.Sprintf("read limited at %d bytes", limit+1))
	if n := written.Load(); n > 64<<10 {
		t.Errorf("the bomb took %d bytes: it was not compressed", n)
	}
	if r := result(t, results); r.Code != websocket.StatusMessageTooBig {
		t.Errorf("result %+v", r)
	}
	// The library reads one byte past the limit to see whether the
	// message ends there; inflating goes no further.
	if n := got.Load(); n > limit+1 {
		t.Errorf("the child got %d bytes of the bomb, more than the limit", n)
	}
}

// A client that does not ask for compression gets none, and the same
// messages.
func TestCompressionNotAskedFor(t *testing.T) {
	child := startFake(rev)
	var read, written atomic.Int64
	c, results := serveWith(t, context.Background(), child, SessionConfig{}, 0, compressed,
		countingDial(websocket.CompressionDisabled, &read, &written))
	in := strings.Repeat("abc", 1000)
	wstest.Send(t, c, websocket.MessageText, in)
	wstest.Expect(t, c, websocket.MessageText, reverse(in))
	if n := read.Load(); n < int64(len(in)) {
		t.Errorf("%d bytes came over the network for a message of %d: compressed", n, len(in))
	}
	c.Close(websocket.StatusNormalClosure, "")
	result(t, results)
}

// A control frame written while output waits for a client that does not
// read must not wait with it: it is queued behind that output, in order.
func TestSmallWriteQueuesBehindBlockedWrite(t *testing.T) {
	server, client := net.Pipe() // a write blocks until it is read
	defer client.Close()
	w := newWire(server)
	defer w.Close()

	output := bytes.Repeat([]byte("o"), 4096)
	outputDone := make(chan error, 1)
	go func() {
		_, err := w.Write(output)
		outputDone <- err
	}()
	proctest.Eventually(t, 10*time.Second, func() error {
		if !w.busy() {
			return errors.New("the output was never written")
		}
		return nil
	})
	ping := []byte("ping")
	pingDone := make(chan error, 1)
	go func() {
		_, err := w.Write(ping)
		pingDone <- err
	}()
	select {
	case err := <-pingDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a small write waited for a blocked one")
	}

	// A large write waits for its turn, and goes after both.
	large := bytes.Repeat([]byte("l"), maxQueued+1)
	largeDone := make(chan error, 1)
	go func() {
		_, err := w.Write(large)
		largeDone <- err
	}()
	got := make([]byte, len(output)+len(ping)+len(large))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if want := slices.Concat(output, ping, large); !bytes.Equal(got, want) {
		t.Errorf("read %q..., want %q...", got[len(output)-2:len(output)+len(ping)+2], want[len(output)-2:len(output)+len(ping)+2])
	}
	for _, done := range []chan error{outputDone, largeDone} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// Writes held back leave no buffer behind once they are written out: a
// session that sent a burst of output holds none for it while quiet.
func TestHeldWritesLeaveNoBuffer(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	w := newWire(server)
	defer w.Close()

	line := bytes.Repeat([]byte("x"), 100)
	for range 2 {
		w.holdWrites()
		for range 100 {
			if _, err := w.Write(line); err != nil {
				t.Fatal(err)
			}
		}
		read := make(chan []byte, 1)
		go func() {
			b := make([]byte, 100*len(line))
			io.ReadFull(client, b)
			read <- b
		}()
		if err := w.release(); err != nil {
			t.Fatal(err)
		}
		if got, want := <-read, bytes.Repeat(line, 100); !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes unlike those written", len(got))
		}
		if w.held != nil {
			t.Fatalf("the wire keeps a buffer of %d bytes after writing out", cap(*w.held))
		}
	}
}

// A large write made while writes are held leaves at once, after what
// was held, rather than being copied in with it: a session sending a long
// line in large pieces gathers none of them.
func TestLargeWriteNotHeld(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	w := newWire(server)
	defer w.Close()

	small := []byte("small")
	large := bytes.Repeat([]byte("l"), maxHeld)
	read := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(small)+len(large))
		io.ReadFull(client, b)
		read <- b
	}()
	w.holdWrites()
	if _, err := w.Write(small); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(large); err != nil {
		t.Fatal(err)
	}
	if w.held != nil {
		t.Fatalf("a write of %d bytes is held back in a buffer of %d", len(large), cap(*w.held))
	}
	if got, want := <-read, slices.Concat(small, large); !bytes.Equal(got, want) {
		t.Fatalf("read %q..., want %q...", got[:10], want[:10])
	}
	if err := w.release(); err != nil {
		t.Fatal(err)
	}
}
