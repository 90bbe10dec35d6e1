package main_test

// End-to-end tests of websocketd's flags against the built binary.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	wsbridge "wsbridge"

	"wsbridge/bridge/wstest"
)

// dialWith connects to url with opts and fails the test if it cannot.
func dialWith(t *testing.T, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(wstest.Context(t), url, opts)
	if err != nil {
		t.Fatalf("dialing %s: %v", url, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// dialStatus tries to connect to url and returns the HTTP status of the
// refusal; it fails the test if the upgrade succeeds.
func dialStatus(t *testing.T, url string, opts *websocket.DialOptions) int {
	t.Helper()
	c, resp, err := websocket.Dial(wstest.Context(t), url, opts)
	if err == nil {
		c.CloseNow()
		t.Fatalf("upgrade to %s succeeded", url)
	}
	if resp == nil {
		t.Fatalf("dialing %s: %v", url, err)
	}
	return resp.StatusCode
}

// rawRequest sends path as it is, unnormalised, in an upgrade request and
// returns the status of the answer.
func rawRequest(t *testing.T, addr, path string) int {
	t.Helper()
	status, _, _ := rawGet(t, addr, addr, path, "Connection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	return status
}

func TestSingleDashFlags(t *testing.T) {
	// websocketd's flags parse like Go's flag package: one dash works.
	s := startServerArgs(t, "-address", "127.0.0.1", "-port=0", "-binary", "-closems", "10", "cat", "-n")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageBinary, "a\n")
	// cat -n numbers lines: the -n after COMMAND went to cat.
	wstest.Expect(t, c, websocket.MessageBinary, "     1\ta\n")
}

func TestBooleanFlagValues(t *testing.T) {
	s := startServer(t, "--binary=false", "cat")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "text")
	wstest.Expect(t, c, websocket.MessageText, "text")
}

func TestTLS(t *testing.T) {
	p := wstest.NewPKI(t)
	s := startServer(t, "--ssl", "--sslcert="+p.CertFile, "--sslkey="+p.KeyFile, "env")
	if ev := s.event("listening"); ev["tls"] != true {
		t.Errorf("listening event %v", ev)
	}
	env := readEnv(t, dialWith(t, "wss://"+s.addr+"/", p.DialOptions()))
	if env["HTTPS"] != "on" {
		t.Errorf("HTTPS=%q", env["HTTPS"])
	}
	// A plain-text client is not served.
	if _, _, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", nil); err == nil {
		t.Error("plain WebSocket accepted on the TLS port")
	}
}

func TestMutualTLS(t *testing.T) {
	p := wstest.NewPKI(t)
	s := startServer(t, "--ssl", "--sslcert="+p.CertFile, "--sslkey="+p.KeyFile, "--sslca="+p.CAFile, "cat")
	if _, _, err := websocket.Dial(wstest.Context(t), "wss://"+s.addr+"/", p.DialOptions()); err == nil {
		t.Fatal("client without a certificate accepted")
	}
	c := dialWith(t, "wss://"+s.addr+"/", p.DialOptions(p.Client))
	wstest.Send(t, c, websocket.MessageText, "trusted")
	wstest.Expect(t, c, websocket.MessageText, "trusted")
}

func unixDial(path string) *websocket.DialOptions {
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}}
}

func TestUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "wsb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "ws.sock")
	s := startServerArgs(t, "--unixsocket="+sock, "env")
	if s.addr != sock {
		t.Fatalf("listening on %q only, want %q", s.addr, sock)
	}
	env := readEnv(t, dialWith(t, "ws://localhost/", unixDial(sock)))
	if env["REMOTE_ADDR"] != "unix-socket" || env["REMOTE_HOST"] != "unix-socket" {
		t.Errorf("REMOTE_ADDR=%q REMOTE_HOST=%q", env["REMOTE_ADDR"], env["REMOTE_HOST"])
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left after shutdown: %v", err)
	}
}

func TestUnixSocketAndTCP(t *testing.T) {
	dir, err := os.MkdirTemp("", "wsb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "ws.sock")
	s := startServer(t, "--unixsocket="+sock, "cat")
	for _, c := range []*websocket.Conn{s.dial("/"), dialWith(t, "ws://localhost/", unixDial(sock))} {
		wstest.Send(t, c, websocket.MessageText, "both")
		wstest.Expect(t, c, websocket.MessageText, "both")
	}
	// A second server may not take the live socket over.
	if code, _, stderr := runBinary(t, "", nil, "--unixsocket="+sock, "cat"); code != wsbridge.ExitCannotStart {
		t.Errorf("second server on the socket: exit %d, %s", code, stderr)
	}
	c := dialWith(t, "ws://localhost/", unixDial(sock))
	wstest.Send(t, c, websocket.MessageText, "still")
	wstest.Expect(t, c, websocket.MessageText, "still")
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRedirPort(t *testing.T) {
	redir := freePort(t)
	s := startServer(t, "--redirport="+strconv.Itoa(redir), "cat")
	s.event("redirecting")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(redir) + "/a/b%20c?x=1&y=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(s.addr, ":")
	want := "http://127.0.0.1:" + port + "/a/b%20c?x=1&y=2"
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("got %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func TestPassEnv(t *testing.T) {
	t.Setenv("WSB_PASSED", "yes")
	t.Setenv("WSB_EMPTY", "")
	t.Setenv("WSB_HIDDEN", "no")
	s := startServer(t, "--passenv=WSB_PASSED,WSB_EMPTY", "/usr/bin/env")
	env := readEnv(t, s.dial("/"))
	if env["WSB_PASSED"] != "yes" {
		t.Errorf("WSB_PASSED=%q", env["WSB_PASSED"])
	}
	for _, name := range []string{"WSB_EMPTY", "WSB_HIDDEN", "PATH"} {
		if v, ok := env[name]; ok {
			t.Errorf("%s=%q passed", name, v)
		}
	}
}

func TestPassStderr(t *testing.T) {
	s := startServer(t, "--passstderr", "sh", "-c", `echo 'out "1"'; echo 'err	2' >&2`)
	c := s.dial("/")
	var got []map[string]string
	for range 2 {
		_, msg, err := c.Read(wstest.Context(t))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("%q is not JSON: %v", msg, err)
		}
		got = append(got, m)
	}
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	slices.SortFunc(got, func(a, b map[string]string) int { return strings.Compare(a["stream"], b["stream"]) })
	if got[0]["stream"] != "stderr" || got[0]["data"] != "err\t2" || got[1]["stream"] != "stdout" || got[1]["data"] != `out "1"` {
		t.Errorf("messages %v", got)
	}
	if ev := s.event("child wrote to stderr"); ev["stderr"] != "err\t2" {
		t.Errorf("stderr not logged: %v", ev)
	}
}

func TestReverseLookup(t *testing.T) {
	names, err := net.LookupAddr("127.0.0.1")
	if err != nil || len(names) == 0 {
		t.Fatalf("this machine has no name for 127.0.0.1: %v", err)
	}
	s := startServer(t, "--reverselookup", "env")
	env := readEnv(t, s.dial("/"))
	if want := strings.TrimSuffix(names[0], "."); env["REMOTE_HOST"] != want || env["REMOTE_ADDR"] != "127.0.0.1" {
		t.Errorf("REMOTE_HOST=%q REMOTE_ADDR=%q, want %q", env["REMOTE_HOST"], env["REMOTE_ADDR"], want)
	}
}

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestDir(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "scripts")
	writeScript(t, filepath.Join(dir, "a", "b", "where.sh"), `echo "$SCRIPT_NAME|$PATH_INFO|$PATH_TRANSLATED|$QUERY_STRING|$(pwd)"`)
	writeScript(t, filepath.Join(dir, "hello.sh"), `echo hello`)
	writeScript(t, filepath.Join(top, "outside.sh"), `echo escaped`)
	os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("not a program"), 0o644)
	os.Symlink(filepath.Join(top, "outside.sh"), filepath.Join(dir, "link.sh"))

	s := startServer(t, "--dir="+dir)
	c := s.dial("/a/b/where.sh/x/y?q=1")
	where := filepath.Join(dir, "a", "b", "where.sh")
	wstest.Expect(t, c, websocket.MessageText, "/a/b/where.sh|/x/y|"+where+"|q=1|"+filepath.Dir(where))
	wstest.Expect(t, s.dial("/hello.sh"), websocket.MessageText, "hello")

	for path, want := range map[string]int{
		"/nope.sh":                  404,
		"/a/b":                      404,
		"/plain.txt":                404,
		"/../outside.sh":            403,
		"/a/../../outside.sh":       403,
		"/%2e%2e/outside.sh":        403,
		"/a%2f..%2f..%2foutside.sh": 403,
		"/link.sh":                  403,
		"/hello.sh%00":              403,
	} {
		if got := rawRequest(t, s.addr, path); got != want {
			t.Errorf("%s: status %d, want %d", path, got, want)
		}
	}
	if ev := s.event("refused"); ev["reason"] == nil || ev["status"] == nil {
		t.Errorf("refusal not logged with its reason: %v", ev)
	}
}

func TestCGIAndStaticDir(t *testing.T) {
	top := t.TempDir()
	cgi := filepath.Join(top, "cgi")
	static := filepath.Join(top, "static")
	writeScript(t, filepath.Join(cgi, "hi.cgi"), `printf 'Content-Type: text/plain\n\n'; echo "cgi $PATH_INFO $QUERY_STRING $SERVER_SOFTWARE"`)
	os.MkdirAll(static, 0o755)
	os.WriteFile(filepath.Join(static, "page.txt"), []byte("static page"), 0o644)
	os.WriteFile(filepath.Join(top, "secret.txt"), []byte("secret"), 0o644)

	_, lines := binaryVersion(t)
	software := strings.Replace(lines[0], " ", "/", 1)
	s := startServer(t, "--cgidir="+cgi, "--staticdir="+static, "cat")
	for path, want := range map[string]string{
		"/hi.cgi/more?x=1": "cgi /more x=1 " + software + "\n",
		"/page.txt":        "static page",
	} {
		resp, err := http.Get("http://" + s.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("%s: %d %q, want %q", path, resp.StatusCode, body, want)
		}
	}
	// Paths that climb out are redirected to their cleaned form, as
	// websocketd does, which is inside.
	for path, location := range map[string]string{"/../secret.txt": "/secret.txt", "/%2e%2e/secret.txt": "/secret.txt", "/missing.txt": ""} {
		status, loc, body := plainGet(t, s.addr, path)
		if location != "" {
			if status != 301 || loc != location {
				t.Errorf("%s: %d to %q, want 301 to %q", path, status, loc, location)
			}
			status, _, body = plainGet(t, s.addr, loc)
		}
		if status != 404 || strings.Contains(body, "secret") {
			t.Errorf("%s: %d %q, want 404", path, status, body)
		}
	}
	// Upgrades still reach the program.
	c := s.dial("/page.txt")
	wstest.Send(t, c, websocket.MessageText, "ws")
	wstest.Expect(t, c, websocket.MessageText, "ws")
}

func TestDevConsole(t *testing.T) {
	s := startServer(t, "--devconsole", "rev")
	resp, err := http.Get("http://" + s.addr + "/chat/%3Cscript%3Ealert(1)%3C/script%3E")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(string(body), "<script>alert(1)") {
		t.Error("the path reached the page unescaped")
	}
	c := s.dial("/chat")
	wstest.Send(t, c, websocket.MessageText, "abc")
	wstest.Expect(t, c, websocket.MessageText, "cba")
}

func TestMaxForks(t *testing.T) {
	s := startServer(t, "--maxforks=1", "cat")
	first := s.dial("/")
	wstest.Send(t, first, websocket.MessageText, "one")
	wstest.Expect(t, first, websocket.MessageText, "one")
	if status := dialStatus(t, "ws://"+s.addr+"/", nil); status != http.StatusTooManyRequests {
		t.Fatalf("second session: %d, want 429", status)
	}
	first.Close(websocket.StatusNormalClosure, "")
	s.event("disconnected")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "two")
	wstest.Expect(t, c, websocket.MessageText, "two")
}

func TestOrigin(t *testing.T) {
	s := startServer(t, "--origin=allowed.example,https://secure.example:8443", "cat")
	origin := func(o string) *websocket.DialOptions {
		return &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {o}}}
	}
	for _, o := range []string{"http://allowed.example:3000", "https://secure.example:8443"} {
		c := dialWith(t, "ws://"+s.addr+"/", origin(o))
		c.Close(websocket.StatusNormalClosure, "")
	}
	for _, o := range []string{"http://evil.example", "http://secure.example:8443", "null"} {
		if status := dialStatus(t, "ws://"+s.addr+"/", origin(o)); status != http.StatusForbidden {
			t.Errorf("Origin %s: %d, want 403", o, status)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	s := startServer(t, "--sameorigin", "cat")
	ok := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + s.addr}}}
	dialWith(t, "ws://"+s.addr+"/", ok).Close(websocket.StatusNormalClosure, "")
	bad := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://elsewhere.example"}}}
	if status := dialStatus(t, "ws://"+s.addr+"/", bad); status != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", status)
	}
}

func TestExtraHeaders(t *testing.T) {
	s := startServer(t, "--header=X-All: 1", "--header-ws=X-WS: 2", "--header-http", "X-HTTP: 3", "cat")
	resp, err := http.Get("http://" + s.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header; h.Get("X-All") != "1" || h.Get("X-HTTP") != "3" || h.Get("X-WS") != "" {
		t.Errorf("plain HTTP headers %v", h)
	}
	c, resp, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if h := resp.Header; h.Get("X-All") != "1" || h.Get("X-WS") != "2" || h.Get("X-HTTP") != "" {
		t.Errorf("upgrade headers %v", h)
	}
}
