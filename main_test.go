package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/coder/websocket"
	"github.com/creack/pty"
)

// binary is the wsbridge built for these tests.
var binary string

func TestMain(m *testing.M) {
	// A server run in this process (by run) starts its guardian from
	// this binary.
	if slices.Equal(os.Args, guardianArgs) {
		main()
		return
	}
	dir, err := os.MkdirTemp("", "wsbridge-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wsbridge")
	// Stamped with the revision as go build stamps it by default, even
	// where GOFLAGS turns that off.
	build := exec.Command("go", "build", "-race", "-buildvcs=auto", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building wsbridge:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running wsbridge.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // host:port it listens on
	done chan struct{}
	err  error

	listening chan string // the address of the first listener
	killed    bool        // killed by the test: it need not exit with 0

	mu   sync.Mutex
	logs []map[string]any // its JSON log events
}

// startServer starts wsbridge on a free port of 127.0.0.1 with args (flags,
// then the command) and waits until it listens.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerArgs(t, append([]string{"--address=127.0.0.1", "--port=0"}, args...)...)
}

// startServerArgs starts wsbridge with exactly args and waits until it
// listens; addr is the address of its first listener.
func startServerArgs(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServerArgs with env added to the environment.
func startServerEnv(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s := launch(t, exec.Command(binary, args...), env)
	s.waitListening()
	return s
}

// launch starts cmd, a wsbridge or a program that runs one, with env
// added to its environment, and collects wsbridge's log events; it is
// stopped with SIGTERM at the end of the test and must exit with status 0,
// unless the test killed it.
func launch(t *testing.T, cmd *exec.Cmd, env []string) *server {
	t.Helper()
	s := &server{t: t, cmd: cmd, done: make(chan struct{}), listening: make(chan string, 1)}
	// The server is built with the race detector: report races as a
	// failing exit status, and exit without the detector's pause.
	s.cmd.Env = append(append(os.Environ(), env...), "GORACE=atexit_sleep_ms=0 exitcode=66")
	if s.cmd.Stderr == nil {
		s.cmd.Stderr = os.Stderr
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			s.mu.Lock()
			s.logs = append(s.logs, ev)
			s.mu.Unlock()
			if ev["message"] == "listening" {
				select {
				case s.listening <- ev["address"].(string):
				default: // not the first listener
				}
			}
		}
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if s.killed {
			return
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		if err := s.wait(); err != nil {
			t.Errorf("wsbridge exited with %v", err)
		}
	})
	return s
}

// waitListening waits until the server listens and sets addr to the
// address of its first listener.
func (s *server) waitListening() {
	s.t.Helper()
	select {
	case s.addr = <-s.listening:
	case <-s.done:
		s.t.Fatalf("wsbridge exited before listening: %v", s.err)
	case <-time.After(20 * time.Second):
		s.t.Fatal("wsbridge did not start listening")
	}
}

// wait waits for the server to exit and returns how it did.
func (s *server) wait() error {
	select {
	case <-s.done:
		return s.err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatal("wsbridge did not exit")
		return nil
	}
}

// event waits for a log event with the given message and returns it.
func (s *server) event(message string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, ev := range s.logs {
			if ev["message"] == message {
				s.mu.Unlock()
				return ev
			}
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("no %q event in the log", message)
	return nil
}

func (s *server) dial(path string) *websocket.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+s.addr+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetReadLimit(-1)
	s.t.Cleanup(func() { c.CloseNow() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func send(t *testing.T, c *websocket.Conn, typ websocket.MessageType, msg string) {
	t.Helper()
	if err := c.Write(ctx(t), typ, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, c *websocket.Conn, typ websocket.MessageType, want string) {
	t.Helper()
	gotTyp, got, err := c.Read(ctx(t))
	if err != nil {
		t.Fatalf("waiting for %q: %v", want, err)
	}
	if gotTyp != typ || string(got) != want {
		t.Fatalf("got %v %q, want %v %q", gotTyp, got, typ, want)
	}
}

func expectClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	_, msg, err := c.Read(ctx(t))
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("want close %d, got message %q, error %v", code, msg, err)
	}
	if ce.Code != code || ce.Reason != reason {
		t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
}

func TestRevAnswersEachLineAtOnce(t *testing.T) {
	// rev buffers a piped stdout: only the pseudo-terminal makes it
	// answer while it is still running.
	s := startServer(t, "rev")
	c := s.dial("/")
	for _, in := range []string{"hello", "world", "", "a b  c"} {
		send(t, c, websocket.MessageText, in)
		var want []rune
		for _, r := range in {
			want = append([]rune{r}, want...)
		}
		expect(t, c, websocket.MessageText, string(want))
	}
	c.Close(websocket.StatusNormalClosure, "")
	ev := s.event("disconnected")
	if ev["close_code"] != float64(1000) || ev["messages_in"] != float64(4) || ev["messages_out"] != float64(4) {
		t.Errorf("access event %v", ev)
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	s := startServer(t, "printf", `first\r\nlast`)
	c := s.dial("/")
	expect(t, c, websocket.MessageText, "first")
	expect(t, c, websocket.MessageText, "last")
	expectClose(t, c, websocket.StatusNormalClosure, "")
}

func TestCloseCodeTellsExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   websocket.StatusCode
		reason string
	}{
		{"echo last", websocket.StatusNormalClosure, ""},
		{"echo last; exit 3", websocket.StatusInternalError, "exit status 3"},
		{"echo last; echo oops >&2; exit 3", websocket.StatusInternalError, "exit status 3: oops"},
		{"echo last; kill -9 $$", websocket.StatusInternalError, "signal: killed"},
	} {
		s := startServer(t, "sh", "-c", tc.script)
		c := s.dial("/")
		expect(t, c, websocket.MessageText, "last")
		expectClose(t, c, tc.code, tc.reason)
	}
}

func TestManyLinesInOrder(t *testing.T) {
	t.Parallel()
	const n = 1000000
	s := startServer(t, "seq", strconv.Itoa(n))
	c := s.dial("/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 1; i <= n; i++ {
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if string(got) != strconv.Itoa(i) {
			t.Fatalf("line %d is %q", i, got)
		}
	}
	expectClose(t, c, websocket.StatusNormalClosure, "")
}

func TestNoProcessLeftBehind(t *testing.T) {
	// The script leaves a grandchild in the background and waits.
	s := startServer(t, "sh", "-c", "sleep 300 & echo $!; cat")
	c := s.dial("/")
	pid := readPid(t, c)
	c.Close(websocket.StatusNormalClosure, "")
	s.event("disconnected")
	waitGone(t, pid)
}

func TestVanishedClientStopsChild(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vanish func(c *websocket.Conn, tcp *net.TCPConn)
	}{
		{"no close frame", func(c *websocket.Conn, _ *net.TCPConn) { c.CloseNow() }},
		{"reset", func(_ *websocket.Conn, tcp *net.TCPConn) {
			tcp.SetLinger(0) // close with RST
			tcp.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "sh", "-c", "echo $$; exec cat")
			var tcp *net.TCPConn
			transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil {
					tcp = conn.(*net.TCPConn)
				}
				return conn, err
			}}
			c, _, err := websocket.Dial(ctx(t), "ws://"+s.addr+"/", &websocket.DialOptions{
				HTTPClient: &http.Client{Transport: transport},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			pid := readPid(t, c)
			tc.vanish(c, tcp)
			ev := s.event("disconnected")
			if ev["close_code"] != float64(websocket.StatusAbnormalClosure) {
				t.Errorf("access event %v", ev)
			}
			waitGone(t, pid)
		})
	}
}

// readPid reads a message holding a process id.
func readPid(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_, msg, err := c.Read(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(msg))
	if err != nil {
		t.Fatalf("pid %q: %v", msg, err)
	}
	return pid
}

// waitGone waits until pid has ended (a zombie no reaper collected counts
// as ended).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && string(stat)[i+2] == 'Z' {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d still running", pid)
}

func TestInvalidUTF8BecomesValidText(t *testing.T) {
	s := startServer(t, "printf", `a\377b\303\n`)
	c := s.dial("/")
	expect(t, c, websocket.MessageText, "a\ufffdb\ufffd")
}

func TestArgumentsReachChildUntouched(t *testing.T) {
	s := startServer(t, "--", "printf", `%s\n`, "-l", "--port=9", "--binary")
	c := s.dial("/")
	for _, want := range []string{"-l", "--port=9", "--binary"} {
		expect(t, c, websocket.MessageText, want)
	}
	expectClose(t, c, websocket.StatusNormalClosure, "")
}

func TestBinaryModeEchoesBytes(t *testing.T) {
	s := startServer(t, "--binary", "cat")
	c := s.dial("/")
	payload := "\x00\x01\xff\r\n no newline is added \xc3"
	send(t, c, websocket.MessageBinary, payload)
	expect(t, c, websocket.MessageBinary, payload)
}

func TestOversizedMessageCloses1009(t *testing.T) {
	s := startServer(t, "--maxframesize=10", "cat")
	c := s.dial("/")
	send(t, c, websocket.MessageText, "0123456789")
	expect(t, c, websocket.MessageText, "0123456789")
	send(t, c, websocket.MessageText, "0123456789a")
	_, _, err := c.Read(ctx(t))
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		t.Fatalf("got %v, want close 1009", err)
	}
}

func TestSIGTERMClosesClientsWithGoingAway(t *testing.T) {
	s := startServer(t, "sh", "-c", `trap 'echo bye; exit 0' INT; echo ready; while :; do sleep 0.05; done`)
	c1, c2 := s.dial("/"), s.dial("/")
	expect(t, c1, websocket.MessageText, "ready")
	expect(t, c2, websocket.MessageText, "ready")
	s.terminate(c1, c2)
}

// terminate sends the server SIGTERM and checks that each client reads
// "bye", its program's last line, and then 1001, and that the server
// exits with status 0.
func (s *server) terminate(clients ...*websocket.Conn) {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	for _, c := range clients {
		expect(s.t, c, websocket.MessageText, "bye")
		expectClose(s.t, c, websocket.StatusGoingAway, "server shutting down")
	}
	if err := s.wait(); err != nil {
		s.t.Fatalf("server exited with %v, want status 0", err)
	}
}

func TestPlainHTTPGets404(t *testing.T) {
	// The answer says that the path is a WebSocket endpoint and what the
	// request lacked to be an upgrade.
	s := startServer(t, "cat")
	resp, err := http.Get("http://" + s.addr + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(string(body), "404 page not found: this is a WebSocket endpoint") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if ev := s.event("http"); ev["status"] != float64(404) || ev["path"] != "/anything" {
		t.Errorf("access event %v", ev)
	}
}

func TestChildEnvironment(t *testing.T) {
	_, lines := binaryVersion(t)
	version, _ := strings.CutPrefix(lines[0], "wsbridge ")
	s := startServerEnv(t, noLocale, "--address=127.0.0.1", "--port=0", "env")
	c, _, err := websocket.Dial(ctx(t), "ws://"+s.addr+"/some/path?x=1&y=2", &websocket.DialOptions{
		HTTPHeader: http.Header{"X-Test-Header": {"a value"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := readEnv(t, c)
	host, port, _ := strings.Cut(s.addr, ":")
	want := map[string]string{
		"PATH":               os.Getenv("PATH"),
		"LANG":               "C.UTF-8",
		"SERVER_SOFTWARE":    "wsbridge/" + version,
		"REMOTE_ADDR":        "127.0.0.1",
		"REMOTE_HOST":        "127.0.0.1",
		"REMOTE_PORT":        env["REMOTE_PORT"], // checked below
		"SERVER_NAME":        host,
		"SERVER_PORT":        port,
		"SERVER_PROTOCOL":    "HTTP/1.1",
		"GATEWAY_INTERFACE":  "CGI/1.1",
		"REQUEST_METHOD":     "GET",
		"SCRIPT_NAME":        "/",
		"PATH_INFO":          "/some/path",
		"PATH_TRANSLATED":    "",
		"QUERY_STRING":       "x=1&y=2",
		"REQUEST_URI":        "/some/path?x=1&y=2",
		"UNIQUE_ID":          env["UNIQUE_ID"], // checked below
		"AUTH_TYPE":          "",
		"CONTENT_LENGTH":     "",
		"CONTENT_TYPE":       "",
		"REMOTE_IDENT":       "",
		"REMOTE_USER":        "",
		"WEBSOCKET_PROTOCOL": "",
	}
	if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
		want["LD_LIBRARY_PATH"] = v
	}
	for k, v := range env {
		if strings.HasPrefix(k, "HTTP_") {
			continue
		}
		if w, ok := want[k]; !ok {
			t.Errorf("%s=%q should not be there", k, v)
		} else if v != w {
			t.Errorf("%s=%q, want %q", k, v, w)
		}
	}
	for k := range want {
		if _, ok := env[k]; !ok {
			t.Errorf("%s missing", k)
		}
	}
	for k, w := range map[string]string{
		"HTTP_HOST":          s.addr,
		"HTTP_X_TEST_HEADER": "a value",
		"HTTP_UPGRADE":       "websocket",
		"HTTP_CONNECTION":    "Upgrade",
	} {
		if env[k] != w {
			t.Errorf("%s=%q, want %q", k, env[k], w)
		}
	}
	if p, err := strconv.Atoi(env["REMOTE_PORT"]); err != nil || p == 0 {
		t.Errorf("REMOTE_PORT=%q", env["REMOTE_PORT"])
	}
	if len(env["UNIQUE_ID"]) < 16 {
		t.Errorf("UNIQUE_ID=%q", env["UNIQUE_ID"])
	}
}

// readEnv reads the lines `env` prints until the connection closes.
func readEnv(t *testing.T, c *websocket.Conn) map[string]string {
	t.Helper()
	env := map[string]string{}
	for {
		_, line, err := c.Read(ctx(t))
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatalf("env ended with %v", err)
			}
			return env
		}
		k, v, _ := strings.Cut(string(line), "=")
		env[k] = v
	}
}

func TestStderrIsLogged(t *testing.T) {
	s := startServer(t, "sh", "-c", "echo oops >&2")
	c := s.dial("/")
	expectClose(t, c, websocket.StatusNormalClosure, "")
	ev := s.event("child wrote to stderr")
	if ev["stderr"] != "oops" || ev["level"] != "info" || ev["stream"] != "stderr" || ev["pid"] == nil || ev["id"] == nil {
		t.Errorf("stderr event %v", ev)
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--bogus", "cat"}, exitBadFlags, "unknown flag --bogus"},
		{[]string{"--port=abc", "cat"}, exitBadFlags, "--port"},
		{[]string{"--loglevel=loud", "cat"}, exitBadFlags, "--loglevel"},
		{[]string{"-bogus", "cat"}, exitBadFlags, "unknown flag"},
		{[]string{}, exitBadArguments, "no program given"},
		{[]string{"--"}, exitBadArguments, "no program given"},
		{[]string{"--dir=.", "cat"}, exitBadArguments, "--dir and a COMMAND"},
		{[]string{"--dir=/no/such/dir"}, exitBadArguments, "--dir /no/such/dir"},
		{[]string{"--passstderr", "--binary", "cat"}, exitBadArguments, "--passstderr"},
		{[]string{"--listdirs", "cat"}, exitBadArguments, "--listdirs needs --staticdir"},
		{[]string{"--dotfiles", "cat"}, exitBadArguments, "--dotfiles needs --dir, --staticdir or --cgidir"},
		{[]string{"--broadcast", "--maxframesize=0", "cat"}, exitBadArguments, "--broadcast needs a --maxframesize"},
		{[]string{"--broadcast-queue=0", "cat"}, exitBadArguments, "--broadcast-queue=0"},
		{[]string{"--ssl", "cat"}, exitBadArguments, "--ssl needs --sslcert and --sslkey"},
		{[]string{"--sslca=ca.pem", "cat"}, exitBadArguments, "need --ssl"},
		{[]string{"--ssl", "--sslcert=/no/cert.pem", "--sslkey=/no/key.pem", "cat"}, exitCannotStart, "/no/cert.pem"},
		{[]string{"--header=NoColon", "cat"}, exitBadArguments, "NoColon"},
		{[]string{"--protocol=chat/1", "cat"}, exitBadArguments, `--protocol "chat/1": not a subprotocol name`},
		{[]string{"--protocol=v1,,v2", "cat"}, exitBadArguments, `--protocol "": not a subprotocol name`},
		{[]string{"--origin=ftp://example.com", "cat"}, exitBadArguments, "--origin"},
		{[]string{"--redirport=70000", "cat"}, exitBadArguments, "--redirport"},
		{[]string{"--trusted-proxy=10.0.0.0/33", "cat"}, exitBadArguments, `--trusted-proxy "10.0.0.0/33"`},
		{[]string{"--trusted-proxy=proxy.example", "cat"}, exitBadArguments, `--trusted-proxy "proxy.example"`},
		{[]string{"--metrics-address=9100", "cat"}, exitBadArguments, "--metrics-address=9100: want HOST:PORT"},
		{[]string{"--metrics-address=:70000", "cat"}, exitBadArguments, "--metrics-address=:70000"},
		{[]string{"--devconsole", "--staticdir=.", "cat"}, exitConsoleConflict, "--devconsole"},
		{[]string{"--devconsole", "--cgidir=.", "cat"}, exitConsoleConflict, "--devconsole"},
		{[]string{"no-such-program-anywhere"}, exitBadArguments, "no-such-program-anywhere"},
		{[]string{"--port=70000", "cat"}, exitBadArguments, "--port=70000"},
		{[]string{"--max-per-ip=-1", "cat"}, exitBadArguments, "--max-per-ip=-1: must be 0 or more"},
		{[]string{"--max-rate=-1", "cat"}, exitBadArguments, "--max-rate=-1: must be 0 or more"},
		{[]string{"--auth-header=X-User", "cat"}, exitBadArguments, "--auth-header needs --trusted-proxy"},
		{[]string{"--auth-header=X_User", "--trusted-proxy=127.0.0.1", "cat"}, exitBadArguments, "--auth-header=X_User: not a header name"},
		{[]string{"--basic-auth-file=/no/such/file", "cat"}, exitBadArguments, "--basic-auth-file: stat /no/such/file"},
	} {
		var stdout, stderr strings.Builder
		code := run(tc.args, &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != tc.code || len(lines) != 1 || !strings.Contains(lines[0], tc.msg) || stdout.Len() != 0 {
			t.Errorf("wsbridge %q: exit %d, stderr %q, stdout %q; want exit %d and one line about %q",
				tc.args, code, stderr.String(), stdout.String(), tc.code, tc.msg)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--maxframesize") ||
		!strings.HasPrefix(stdout.String(), "Usage: wsbridge [flags] COMMAND [ARGS...]\n       wsbridge [flags] --dir=DIR\n\n") {
		t.Errorf("--help: exit %d, output %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"--version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "wsbridge ") {
		t.Errorf("--version: exit %d, output %q", code, stdout.String())
	}
}

func TestExamples(t *testing.T) {
	t.Run("greeter", func(t *testing.T) {
		s := startServer(t, "examples/greeter.py")
		c := s.dial("/")
		send(t, c, websocket.MessageText, "Ann")
		expect(t, c, websocket.MessageText, "Hello, Ann!")
		send(t, c, websocket.MessageText, "Zoë")
		expect(t, c, websocket.MessageText, "Hello, Zoë!")
	})
	t.Run("calc", func(t *testing.T) {
		s := startServer(t, "examples/calc.sh")
		c := s.dial("/")
		send(t, c, websocket.MessageText, "2+2")
		expect(t, c, websocket.MessageText, "4")
		send(t, c, websocket.MessageText, "foo(")
		_, msg, err := c.Read(ctx(t))
		if err != nil || !strings.HasPrefix(string(msg), "error: ") {
			t.Fatalf("bad expression: got %q, %v", msg, err)
		}
		send(t, c, websocket.MessageText, "scale=2; 1/3")
		expect(t, c, websocket.MessageText, ".33")
	})
	t.Run("chat", func(t *testing.T) {
		s := startServer(t, "--broadcast", "examples/chat.sh")
		stamped := func(c *websocket.Conn, want string) {
			t.Helper()
			_, msg, err := c.Read(ctx(t))
			stamp, line, _ := strings.Cut(string(msg), " ")
			if _, perr := time.Parse("15:04:05", stamp); err != nil || perr != nil || line != want {
				t.Fatalf("got %q, %v; want a time and %q", msg, err, want)
			}
		}
		ann := s.dial("/lobby")
		send(t, ann, websocket.MessageText, "hi, Ann here")
		stamped(ann, "hi, Ann here")
		bob := s.dial("/lobby")
		send(t, bob, websocket.MessageText, "hello Ann")
		stamped(bob, "hello Ann")
		stamped(ann, "hello Ann")
	})
	t.Run("counter", func(t *testing.T) {
		s := startServer(t, "examples/counter.sh")
		c := s.dial("/")
		expect(t, c, websocket.MessageText, "1")
		expect(t, c, websocket.MessageText, "2")
		c.Close(websocket.StatusNormalClosure, "")
		if ev := s.event("disconnected"); ev["exit"] == "exit status 0" {
			t.Errorf("counter ran to its end: %v", ev)
		}
	})
}

func TestPingsOnByDefault(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"cat"}, 30 * time.Second},
		{[]string{"--pingms=0", "cat"}, 0},
		{[]string{"--pingms=500", "cat"}, 500 * time.Millisecond},
	} {
		var c cli
		if _, err := kong.Must(&c).Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := c.config()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Bridge.PingInterval; got != tc.want {
			t.Errorf("%q: pings every %v, want %v", tc.args, got, tc.want)
		}
	}
}

// Logs are for people on a terminal only: /dev/null, a character device
// too, and a pipe get JSON.
func TestIsTerminal(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
	for _, tc := range []struct {
		name string
		w    io.Writer
		want bool
	}{
		{os.DevNull, devNull, false},
		{"a pipe", w, false},
		{"a buffer", new(bytes.Buffer), false},
		{"a terminal", tty, true},
	} {
		if got := isTerminal(tc.w); got != tc.want {
			t.Errorf("isTerminal(%s) = %v", tc.name, got)
		}
	}
}
