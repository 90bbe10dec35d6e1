package main_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

func TestRevAnswersEachLineAtOnce(t *testing.T) {
	// rev buffers a piped stdout: only the pseudo-terminal makes it
	// answer while it is still running.
	s := startServer(t, "rev")
	c := s.dial("/")
	for _, in := range []string{"hello", "world", "", "a b  c"} {
		wstest.Send(t, c, websocket.MessageText, in)
		var want []rune
		for _, r := range in {
			want = append([]rune{r}, want...)
		}
		wstest.Expect(t, c, websocket.MessageText, string(want))
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
	wstest.Expect(t, c, websocket.MessageText, "first")
	wstest.Expect(t, c, websocket.MessageText, "last")
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
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
		wstest.Expect(t, c, websocket.MessageText, "last")
		wstest.ExpectClose(t, c, tc.code, tc.reason)
	}
}

func TestManyLinesInOrder(t *testing.T) {
	skipShort(t)
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
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
}

func TestNoProcessLeftBehind(t *testing.T) {
	// The script leaves a grandchild in the background and waits.
	s := startServer(t, "sh", "-c", "sleep 300 & echo $!; cat")
	c := s.dial("/")
	pid := wstest.ReadPID(t, c)
	c.Close(websocket.StatusNormalClosure, "")
	s.event("disconnected")
	proctest.WaitGone(t, pid, 10*time.Second)
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
			c, _, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/", &websocket.DialOptions{
				HTTPClient: &http.Client{Transport: transport},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			pid := wstest.ReadPID(t, c)
			tc.vanish(c, tcp)
			ev := s.event("disconnected")
			if ev["close_code"] != float64(websocket.StatusAbnormalClosure) {
				t.Errorf("access event %v", ev)
			}
			proctest.WaitGone(t, pid, 10*time.Second)
		})
	}
}

func TestInvalidUTF8BecomesValidText(t *testing.T) {
	s := startServer(t, "printf", `a\377b\303\n`)
	c := s.dial("/")
	wstest.Expect(t, c, websocket.MessageText, "a\ufffdb\ufffd")
}

func TestArgumentsReachChildUntouched(t *testing.T) {
	s := startServer(t, "--", "printf", `%s\n`, "-l", "--port=9", "--binary")
	c := s.dial("/")
	for _, want := range []string{"-l", "--port=9", "--binary"} {
		wstest.Expect(t, c, websocket.MessageText, want)
	}
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
}

func TestBinaryModeEchoesBytes(t *testing.T) {
	s := startServer(t, "--binary", "cat")
	c := s.dial("/")
	payload := "\x00\x01\xff\r\n no newline is added \xc3"
	wstest.Send(t, c, websocket.MessageBinary, payload)
	wstest.Expect(t, c, websocket.MessageBinary, payload)
}

func TestOversizedMessageCloses1009(t *testing.T) {
	s := startServer(t, "--maxframesize=10", "cat")
	c := s.dial("/")
	wstest.Send(t, c, websocket.MessageText, "0123456789")
	wstest.Expect(t, c, websocket.MessageText, "0123456789")
	wstest.Send(t, c, websocket.MessageText, "0123456789a")
	_, _, err := c.Read(wstest.Context(t))
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		t.Fatalf("got %v, want close 1009", err)
	}
}

func TestSIGTERMClosesClientsWithGoingAway(t *testing.T) {
	s := startServer(t, "sh", "-c", `trap 'echo bye; exit 0' INT; echo ready; while :; do sleep 0.05; done`)
	c1, c2 := s.dial("/"), s.dial("/")
	wstest.Expect(t, c1, websocket.MessageText, "ready")
	wstest.Expect(t, c2, websocket.MessageText, "ready")
	s.terminate(c1, c2)
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
	c, _, err := websocket.Dial(wstest.Context(t), "ws://"+s.addr+"/some/path?x=1&y=2", &websocket.DialOptions{
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
		_, line, err := c.Read(wstest.Context(t))
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
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	ev := s.event("child wrote to stderr")
	if ev["stderr"] != "oops" || ev["level"] != "info" || ev["stream"] != "stderr" || ev["pid"] == nil || ev["id"] == nil {
		t.Errorf("stderr event %v", ev)
	}
}

func TestExamples(t *testing.T) {
	t.Run("greeter", func(t *testing.T) {
		proctest.Need(t, "python3", "python3")
		s := startServer(t, "examples/greeter.py")
		c := s.dial("/")
		wstest.Send(t, c, websocket.MessageText, "Ann")
		wstest.Expect(t, c, websocket.MessageText, "Hello, Ann!")
		wstest.Send(t, c, websocket.MessageText, "Zoë")
		wstest.Expect(t, c, websocket.MessageText, "Hello, Zoë!")
	})
	t.Run("calc", func(t *testing.T) {
		proctest.Need(t, "bc", "bc")
		s := startServer(t, "examples/calc.sh")
		c := s.dial("/")
		wstest.Send(t, c, websocket.MessageText, "2+2")
		wstest.Expect(t, c, websocket.MessageText, "4")
		wstest.Send(t, c, websocket.MessageText, "foo(")
		_, msg, err := c.Read(wstest.Context(t))
		if err != nil || !strings.HasPrefix(string(msg), "error: ") {
			t.Fatalf("bad expression: got %q, %v", msg, err)
		}
		wstest.Send(t, c, websocket.MessageText, "scale=2; 1/3")
		wstest.Expect(t, c, websocket.MessageText, ".33")
	})
	t.Run("chat", func(t *testing.T) {
		s := startServer(t, "--broadcast", "examples/chat.sh")
		stamped := func(c *websocket.Conn, want string) {
			t.Helper()
			_, msg, err := c.Read(wstest.Context(t))
			stamp, line, _ := strings.Cut(string(msg), " ")
			if _, perr := time.Parse("15:04:05", stamp); err != nil || perr != nil || line != want {
				t.Fatalf("got %q, %v; want a time and %q", msg, err, want)
			}
		}
		ann := s.dial("/lobby")
		wstest.Send(t, ann, websocket.MessageText, "hi, Ann here")
		stamped(ann, "hi, Ann here")
		bob := s.dial("/lobby")
		wstest.Send(t, bob, websocket.MessageText, "hello Ann")
		stamped(bob, "hello Ann")
		stamped(ann, "hello Ann")
	})
	t.Run("counter", func(t *testing.T) {
		s := startServer(t, "examples/counter.sh")
		c := s.dial("/")
		wstest.Expect(t, c, websocket.MessageText, "1")
		wstest.Expect(t, c, websocket.MessageText, "2")
		c.Close(websocket.StatusNormalClosure, "")
		if ev := s.event("disconnected"); ev["exit"] == "exit status 0" {
			t.Errorf("counter ran to its end: %v", ev)
		}
	})
}
