package main_test

// End-to-end tests of hostile input: malformed handshakes, protocol
// violations, path escapes and headers that would inject into a program's
// environment. Each must be answered clearly, start nothing it should not,
// and leave other clients undisturbed.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
)

// upgradeRequest is a valid upgrade request for path, ending with extra
// header lines (each ending in "\r\n") and the blank line.
func upgradeRequest(path, extra string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra + "\r\n"
}

// rawAnswer sends request on a new connection to addr and returns the
// status of the answer, or 0 if the server closed the connection without
// one.
func rawAnswer(t *testing.T, addr string, request []byte) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	// The server may answer before the request is all sent, and close.
	go conn.Write(request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("no answer to %.40q", request)
		}
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// clientHello returns the first bytes a TLS client sends.
func clientHello(t *testing.T) []byte {
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		tls.Client(a, &tls.Config{ServerName: "localhost"}).Handshake()
		a.Close()
	}()
	buf := make([]byte, 64<<10)
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestMalformedHandshakesStartNothing(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "started")
	s := startServer(t, "sh", "-c", "touch "+marker+"; exec cat")
	key := "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for name, req := range map[string]string{
		"no key":        strings.Replace(upgradeRequest("/", ""), key, "", 1),
		"empty key":     strings.Replace(upgradeRequest("/", ""), key, "Sec-WebSocket-Key:\r\n", 1),
		"wrong version": strings.Replace(upgradeRequest("/", ""), "Version: 13", "Version: 8", 1),
		"no version":    strings.Replace(upgradeRequest("/", ""), "Sec-WebSocket-Version: 13\r\n", "", 1),
		"POST":          strings.Replace(upgradeRequest("/", "Content-Length: 0\r\n"), "GET", "POST", 1),
		"HTTP/1.0":      strings.Replace(upgradeRequest("/", ""), "HTTP/1.1", "HTTP/1.0", 1),
		"bad method":    strings.Replace(upgradeRequest("/", ""), "GET", "G\x01T", 1),
		"no host":       strings.Replace(upgradeRequest("/", ""), "Host: localhost\r\n", "", 1),
		"garbage":       "\x00\xff\x00\xff\r\n\r\n",
		"2 MB headers":  upgradeRequest("/", "X-Big: "+strings.Repeat("a", 2<<20)+"\r\n"),
		"many headers":  upgradeRequest("/", strings.Repeat("X-Many: a\r\n", 100000)),
		"TLS":           string(clientHello(t)),
	} {
		status := rawAnswer(t, s.addr, []byte(req))
		if status != 0 && (status < 400 || status >= 500) {
			t.Errorf("%s: status %d, want a 4xx or a close", name, status)
		}
	}
	// A good client is served all the same, and no child was started
	// before it.
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a malformed handshake started the program")
	}
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "still here")
	wstest.Expect(t, c, websocket.MessageText, "still here")
}

// rawConn is a WebSocket connection made by hand, to send what a client
// library would refuse to.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

// rawDial upgrades a new connection to addr by hand.
func rawDial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := dialRaw(addr, "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialRaw upgrades a new connection to addr by hand, asking for path.
func dialRaw(addr, path string) (*rawConn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, upgradeRequest(path, ""))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		err = fmt.Errorf("upgrade answered with %d", resp.StatusCode)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &rawConn{Conn: conn, r: r}, nil
}

// frame encodes one frame: first is the first byte (FIN, RSV bits,
// opcode); the payload is masked unless unmasked.
func frame(first byte, payload []byte, unmasked bool) []byte {
	b := []byte{first, 0}
	switch n := len(payload); {
	case n < 126:
		b[1] = byte(n)
	case n <= 0xffff:
		b = append(b[:1], 126, byte(n>>8), byte(n))
	default:
		b[1] = 127
		for i := 7; i >= 0; i-- {
			b = append(b, byte(n>>(8*i)))
		}
	}
	if unmasked {
		return append(b, payload...)
	}
	b[1] |= 0x80
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	finBit         = 0x80
)

// readClose reads frames from the server until its close frame, answers
// it, and returns its code and reason; code is -1 if the connection ended
// without one.
func (c *rawConn) readClose() (int, string) {
	for {
		first, payload, err := c.readFrame()
		if err != nil {
			return -1, err.Error()
		}
		if first&0x0f == opClose {
			c.Write(frame(finBit|opClose, payload, false))
			if len(payload) < 2 {
				return 1005, ""
			}
			return int(payload[0])<<8 | int(payload[1]), string(payload[2:])
		}
	}
}

// readFrame reads one frame from the server and returns its first byte
// and its payload.
func (c *rawConn) readFrame() (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	if n >= 126 {
		l := make([]byte, 2)
		if n == 127 {
			l = make([]byte, 8)
		}
		if _, err := io.ReadFull(c.r, l); err != nil {
			return 0, nil, err
		}
		n = 0
		for _, b := range l {
			n = n<<8 | uint64(b)
		}
	}
	if n > 16<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c.r, payload); err != nil {
		return 0, nil, err
	}
	return h[0], payload, nil
}

func TestProtocolViolationsClose(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxframesize=1000", "cat")
	big := []byte(strings.Repeat("a", 1001))
	for _, tc := range []struct {
		name   string
		frames [][]byte
		code   int
	}{
		{"invalid UTF-8", [][]byte{frame(finBit|opText, []byte("ok\xff"), false)}, 1007},
		{"surrogate", [][]byte{frame(finBit|opText, []byte("\xed\xa0\x80"), false)}, 1007},
		{"unfinished rune", [][]byte{frame(finBit|opText, []byte("ok\xe2\x82"), false)}, 1007},
		{"invalid UTF-8 in a later fragment", [][]byte{
			frame(opText, []byte("fine, "), false),
			frame(finBit, []byte("\xc0\xaf"), false),
		}, 1007},
		{"unmasked", [][]byte{frame(finBit|opText, []byte("hi"), true)}, 1002},
		{"RSV1", [][]byte{frame(finBit|0x40|opText, []byte("hi"), false)}, 1002},
		{"RSV2", [][]byte{frame(finBit|0x20|opText, []byte("hi"), false)}, 1002},
		{"RSV3", [][]byte{frame(finBit|0x10|opBinary, []byte("hi"), false)}, 1002},
		{"unknown opcode", [][]byte{frame(finBit|0x3, []byte("hi"), false)}, 1002},
		{"continuation first", [][]byte{frame(finBit, []byte("hi"), false)}, 1002},
		{"over --maxframesize", [][]byte{frame(finBit|opText, big, false)}, 1009},
		{"over --maxframesize in fragments", [][]byte{
			frame(opBinary, big[:600], false),
			frame(finBit, big[600:], false),
		}, 1009},
	} {
		c := rawDial(t, s.addr)
		for _, f := range tc.frames {
			c.Write(f)
		}
		if code, reason := c.readClose(); code != tc.code {
			t.Errorf("%s: closed with %d %q, want %d", tc.name, code, reason, tc.code)
		}
		c.Close()
	}
	// Valid text split inside a rune goes through whole.
	c := rawDial(t, s.addr)
	c.Write(frame(opText, []byte("caf\xc3"), false))
	c.Write(frame(0, []byte("\xa9 \xe2\x82"), false))
	c.Write(frame(finBit, []byte("\xac"), false))
	var got []byte
	for len(got) < len("café €\n") {
		first, p, err := c.readFrame()
		if err != nil || first != finBit|opText {
			t.Fatalf("after %q: frame %#x, %v", got, first, err)
		}
		got = append(append(got, p...), '\n')
	}
	if string(got) != "café €\n" {
		t.Errorf("valid text came back as %q", got)
	}
}

// A client closed with 1009 while it is still sending the message that
// is too big can send the rest and answer the close frame: the server
// reads on for the closing handshake rather than resetting the
// connection, after which the client might never read why it was closed.
func TestOversizedMessageClosedWithHandshake(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxframesize=1000", "cat")
	c := rawDial(t, s.addr)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	f := frame(finBit|opText, bytes.Repeat([]byte("a"), 1<<20), false)
	if _, err := c.Write(f[:4<<10]); err != nil {
		t.Fatal(err)
	}
	first, payload, err := c.readFrame()
	if err != nil || first != finBit|opClose || len(payload) < 2 || int(payload[0])<<8|int(payload[1]) != 1009 {
		t.Fatalf("got frame %#x %q, %v; want a close frame with 1009", first, payload, err)
	}
	for rest := f[4<<10:]; len(rest) > 0; {
		n, err := c.Write(rest[:min(len(rest), 64<<10)])
		if err != nil {
			t.Fatalf("writing the rest of the message, %d bytes left: %v", len(rest), err)
		}
		rest = rest[n:]
	}
	if _, err := c.Write(frame(finBit|opClose, payload[:2], false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.readFrame(); err != io.EOF {
		t.Errorf("after the closing handshake: %v, want EOF", err)
	}
}

func TestPathEscapesReachNothingOutside(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	marker := filepath.Join(top, "ran")
	dir := filepath.Join(top, "dir")
	cgi := filepath.Join(top, "cgi")
	static := filepath.Join(top, "static")
	outside := filepath.Join(top, "outside")
	writeScript(t, filepath.Join(outside, "prog"), "touch "+marker+"; printf 'Content-Type: text/plain\\n\\nsecret\\n'")
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	for _, d := range []string{dir, cgi, static} {
		writeScript(t, filepath.Join(d, "sub", "ok"), "printf 'Content-Type: text/plain\\n\\nfine\\n'")
		os.Symlink(filepath.Join(outside, "prog"), filepath.Join(d, "prog"))
		os.Symlink(filepath.Join(outside, "secret"), filepath.Join(d, "secret"))
		os.Symlink(outside, filepath.Join(d, "out"))
		os.Symlink("../outside/prog", filepath.Join(d, "sub", "rel"))
	}
	escapes := []string{
		"/../outside/secret", "/../outside/prog",
		"/sub/../../outside/prog", "/%2e%2e/outside/prog", "/%2E%2E/outside/secret",
		"/.%2e/outside/prog", "/%2e./outside/secret", "/..%2foutside%2fprog",
		"/sub%2f..%2f..%2foutside%2fsecret", "/sub/..%2f..%2foutside/prog",
		"/..%5coutside%5cprog", "/sub/ok%00", "/%00", "/sub%00/ok", "/prog%00.txt",
		"/prog", "/secret", "/out/prog", "/out/secret", "/sub/rel",
		"/" + strings.TrimPrefix(filepath.Join(outside, "secret"), "/"),
		"//" + strings.TrimPrefix(filepath.Join(outside, "prog"), "/"),
	}

	// get sends a GET of path, an upgrade or not, and returns the status,
	// Location and body of the answer.
	get := func(t *testing.T, addr, path string, upgrade bool) (int, string, string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		req := "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
		if upgrade {
			req = upgradeRequest(path, "")
		}
		io.WriteString(conn, req)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}
	// A plain request may be redirected to its path cleaned, as
	// websocketd does, which leads to nothing outside either.
	clean := regexp.MustCompile(`^(/[^/.][^/]*)+$`)
	check := func(t *testing.T, addr string, upgrade bool) {
		for _, path := range escapes {
			status, location, body := get(t, addr, path, upgrade)
			if status == 301 && !upgrade && clean.MatchString(location) {
				status, _, body = get(t, addr, location, upgrade)
			}
			if (status != 403 && status != 404) || strings.Contains(body, "secret") {
				t.Errorf("%s: %d %q, want 403 or 404, or a redirect to a clean path that gets one", path, status, body)
			}
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatal("a program outside the directory ran")
		}
	}
	t.Run("dir", func(t *testing.T) {
		s := startServer(t, "--dir="+dir)
		check(t, s.addr, true)
		c := s.dial("/sub/ok")
		wstest.Expect(t, c, websocket.MessageText, "Content-Type: text/plain")
	})
	t.Run("cgidir", func(t *testing.T) {
		s := startServer(t, "--cgidir="+cgi, "cat")
		check(t, s.addr, false)
		if status, body := httpGet(t, s.addr, "/sub/ok"); body != "fine\n" {
			t.Errorf("CGI inside the directory: %d %q", status, body)
		}
	})
	t.Run("staticdir", func(t *testing.T) {
		s := startServer(t, "--staticdir="+static, "cat")
		check(t, s.addr, false)
		if status, body := httpGet(t, s.addr, "/sub/ok"); !strings.Contains(body, "fine") {
			t.Errorf("file inside the directory: %d %q", status, body)
		}
	})
}

func TestHeadersCannotInjectIntoEnvironment(t *testing.T) {
	t.Parallel()
	s := startServer(t, "env")
	long := strings.Repeat("v", 64<<10)
	headers := "X-Forwarded-For: good\r\n" +
		"X_Forwarded_For: forged\r\n" +
		"X.Forwarded.For: forged\r\n" +
		"X-Equals: a=b; PATH=/evil\r\n" +
		"X-Long: " + long + "\r\n" +
		"X-Tab: a\tb\r\n"
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, upgradeRequest("/", headers))
	c := &rawConn{Conn: conn, r: bufio.NewReader(conn)}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	env := map[string]string{}
	for _, line := range c.readTexts(t) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(k) {
			t.Errorf("environment line %.60q", line)
		}
		if _, dup := env[k]; dup {
			t.Errorf("%s twice", k)
		}
		env[k] = v
	}
	for k, want := range map[string]string{
		"HTTP_X_FORWARDED_FOR": "good",
		"HTTP_X_EQUALS":        "a=b; PATH=/evil",
		"HTTP_X_LONG":          long,
		"HTTP_X_TAB":           "a\tb",
		"PATH":                 os.Getenv("PATH"),
	} {
		if env[k] != want {
			t.Errorf("%s=%.60q, want %.60q", k, env[k], want)
		}
	}

	// What Go's HTTP server lets through is neutralised; what it refuses
	// starts nothing.
	for name, header := range map[string]string{
		"obs-fold":       "X-Fold: a\r\n INJECTED=1\r\n",
		"NUL":            "X-Nul: a\x00INJECTED=1\r\n",
		"CR":             "X-CR: a\rINJECTED=1\r\n",
		"LF":             "X-LF: a\nINJECTED=1\r\n",
		"NUL in name":    "X-N\x00ul: a\r\n",
		"equals in name": "X-A=B: a\r\n",
		"space in name":  "X A: a\r\n",
	} {
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(conn, upgradeRequest("/", header))
		c := &rawConn{Conn: conn, r: bufio.NewReader(conn)}
		resp, err := http.ReadResponse(c.r, nil)
		switch {
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case resp.StatusCode == 101:
			for _, line := range c.readTexts(t) {
				if k, _, _ := strings.Cut(line, "="); !envName.MatchString(k) || strings.HasPrefix(line, "INJECTED") {
					t.Errorf("%s: environment line %q", name, line)
				}
			}
		case resp.StatusCode != 400:
			t.Errorf("%s: status %d, want 400 or a neutralised header", name, resp.StatusCode)
		}
		conn.Close()
	}
}

// envName is what the name of an environment variable looks like.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// readTexts reads unfragmented text messages up to the server's close
// frame.
func (c *rawConn) readTexts(t *testing.T) []string {
	t.Helper()
	var texts []string
	var msg []byte
	fragmented := false // the frames of a message in pieces are coming
	for {
		first, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("after %d messages: %v", len(texts), err)
		}
		op := first & 0x0f
		switch {
		case op == opClose && !fragmented:
			return texts
		case op == opText && !fragmented, op == opContinuation && fragmented:
			msg = append(msg, p...)
		default:
			t.Fatalf("frame %#x", first)
		}
		fragmented = first&finBit == 0
		if !fragmented {
			texts = append(texts, string(msg))
			msg = msg[:0]
		}
	}
}

func TestCGIHeadersCannotInjectIntoEnvironment(t *testing.T) {
	t.Parallel()
	cgi := t.TempDir()
	writeScript(t, filepath.Join(cgi, "env.cgi"), "printf 'Content-Type: text/plain\\n\\n'; env")
	s := startServer(t, "--cgidir="+cgi, "cat")
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET /env.cgi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
		"X-Forwarded-For: good\r\nX_Forwarded_For: forged\r\nX.Forwarded.For: forged\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "HTTP_X_FORWARDED_FOR=good\n") || strings.Contains(string(body), "forged") {
		t.Errorf("CGI environment: %d\n%s", resp.StatusCode, body)
	}
}
