package bridge

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
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
		results <- Run(testCtx(t), conn, child, Config{})
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
		c, results := serve(t, testCtx(t), child, Config{}, 0)
		for range 10 {
			expect(t, c, websocket.MessageText, string(bytes.Repeat([]byte("y"), 100)))
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
