package main_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
)

// nginxBinary is the nginx the tests run; scripts/test installs it.
const nginxBinary = "/usr/sbin/nginx"

// nginx says how a test runs examples/nginx/nginx.conf: its listening
// port is always a free one of 127.0.0.1.
type nginx struct {
	upstreams   [2]string     // the addresses of its two wsbridge instances
	more        []string      // the addresses of more instances, after those two
	readTimeout time.Duration // its proxy_read_timeout; 0 keeps the example's
	tls         *wstest.PKI   // when set, it serves TLS with this server certificate
	drop        []string      // lines of the example left out, each found once
}

// upstreamLines returns a server line of an upstream block for each of
// addrs.
func upstreamLines(addrs []string) string {
	var b strings.Builder
	for _, a := range addrs {
		b.WriteString("\nserver " + a + ";")
	}
	return b.String()
}

// startNginx runs real nginx with examples/nginx/nginx.conf changed as n
// says and returns the address it listens on. nginx is stopped at the end
// of the test.
func startNginx(t *testing.T, n nginx) string {
	t.Helper()
	proctest.Need(t, nginxBinary, "nginx")
	conf, err := os.ReadFile("examples/nginx/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	listen := "listen " + addr + ";"
	if n.tls != nil {
		listen = "listen " + addr + " ssl;\n" +
			"ssl_certificate " + n.tls.CertFile + ";\n" +
			"ssl_certificate_key " + n.tls.KeyFile + ";"
	}
	replacements := []struct{ old, new string }{
		{"listen 8080;", listen},
		{"server 127.0.0.1:8081;", "server " + n.upstreams[0] + ";"},
		{"server 127.0.0.1:8082;", "server " + n.upstreams[1] + ";" + upstreamLines(n.more)},
		// Everything nginx writes goes to the test's directory.
		{"http {", "http {\n" + strings.Join([]string{
			"access_log " + filepath.Join(dir, "access.log") + ";",
			"client_body_temp_path " + filepath.Join(dir, "body") + ";",
			"proxy_temp_path " + filepath.Join(dir, "proxy") + ";",
			"fastcgi_temp_path " + filepath.Join(dir, "fastcgi") + ";",
			"uwsgi_temp_path " + filepath.Join(dir, "uwsgi") + ";",
			"scgi_temp_path " + filepath.Join(dir, "scgi") + ";",
		}, "\n")},
	}
	if n.readTimeout != 0 {
		replacements = append(replacements, struct{ old, new string }{
			"proxy_read_timeout 60s;", fmt.Sprintf("proxy_read_timeout %dms;", n.readTimeout.Milliseconds())})
	}
	for _, line := range n.drop {
		replacements = append(replacements, struct{ old, new string }{line, ""})
	}
	text := string(conf)
	for _, r := range replacements {
		if c := strings.Count(text, r.old); c != 1 {
			t.Fatalf("examples/nginx/nginx.conf has %q %d times, want once", r.old, c)
		}
		text = strings.Replace(text, r.old, r.new, 1)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	errorLog := filepath.Join(dir, "error.log")
	cmd := exec.Command(nginxBinary, "-p", dir, "-e", errorLog, "-c", confFile,
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+";")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("nginx did not stop")
		}
		if t.Failed() {
			if b, err := os.ReadFile(errorLog); err == nil {
				t.Logf("nginx's error log:\n%s", b)
			}
		}
	})
	proctest.Eventually(t, 10*time.Second, func() error {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(errorLog)
			t.Fatalf("nginx exited: %v\n%s", err, b)
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("nginx does not listen: %v", err)
		}
		c.Close()
		return nil
	})
	return addr
}

// messages reads every message of c in the background, which also answers
// the pings that come.
type messages struct {
	c    *websocket.Conn
	msgs chan string
	err  chan error
}

func readAll(c *websocket.Conn) *messages {
	m := &messages{c: c, msgs: make(chan string, 100), err: make(chan error, 1)}
	go func() {
		for {
			_, msg, err := c.Read(context.Background())
			if err != nil {
				m.err <- err
				return
			}
			m.msgs <- string(msg)
		}
	}()
	return m
}

// next returns the next message.
func (m *messages) next(t *testing.T) string {
	t.Helper()
	select {
	case msg := <-m.msgs:
		return msg
	case err := <-m.err:
		t.Fatalf("connection ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no message")
	}
	return ""
}

// env reads the environment the session's program prints, up to "--".
func (m *messages) env(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for {
		line := m.next(t)
		if line == "--" {
			return env
		}
		name, value, _ := strings.Cut(line, "=")
		env[name] = value
	}
}

// dialFrom connects to url from the local address local, with header.
func dialFrom(t *testing.T, url, local string, header http.Header) *websocket.Conn {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, _, err := websocket.Dial(wstest.Context(t), url, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}},
		HTTPHeader: header,
	})
	if err != nil {
		t.Fatalf("dialling %s from %s: %v", url, local, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// envThenRev prints its environment and "--", then is rev.
var envThenRev = []string{"sh", "-c", "env; echo --; exec rev"}

func TestBehindNginx(t *testing.T) {
	const readTimeout = time.Second
	args := append([]string{"--trusted-proxy=127.0.0.1", "--pingms=300"}, envThenRev...)
	a, b := startServer(t, args...), startServer(t, args...)
	proxy := startNginx(t, nginx{upstreams: [2]string{a.addr, b.addr}, readTimeout: readTimeout})
	url := "ws://" + proxy + "/ws/room?x=1"

	// A client on 127.0.0.2 that claims to be 6.6.6.6 is seen as itself.
	c1 := dialFrom(t, url, "127.0.0.2", http.Header{"X-Forwarded-For": {"6.6.6.6"}})
	m1 := readAll(c1)
	env := m1.env(t)
	for name, want := range map[string]string{
		"REMOTE_ADDR":          "127.0.0.2",
		"REMOTE_HOST":          "127.0.0.2",
		"REMOTE_PORT":          "",
		"HTTP_X_FORWARDED_FOR": "6.6.6.6, 127.0.0.2",
		"HTTP_X_REAL_IP":       "127.0.0.2",
		"PATH_INFO":            "/room",
		"QUERY_STRING":         "x=1",
	} {
		if got, ok := env[name]; !ok || got != want {
			t.Errorf("%s=%q, want %q", name, got, want)
		}
	}
	wstest.Send(t, c1, websocket.MessageText, "hello")
	if got := m1.next(t); got != "olleh" {
		t.Fatalf("rev through nginx answered %q", got)
	}

	// The second session, while the first is open, goes to the other
	// instance.
	c2 := dialFrom(t, url, "127.0.0.1", nil)
	m2 := readAll(c2)
	if env := m2.env(t); env["REMOTE_ADDR"] != "127.0.0.1" {
		t.Errorf("second client: REMOTE_ADDR=%q", env["REMOTE_ADDR"])
	}
	wstest.Send(t, c2, websocket.MessageText, "abc")
	if got := m2.next(t); got != "cba" {
		t.Fatalf("second session: rev answered %q", got)
	}
	remotes := map[string]bool{}
	for _, s := range []*server{a, b} {
		ev := s.event("connected")
		remotes[ev["remote"].(string)] = true
	}
	if !remotes["127.0.0.2"] {
		t.Errorf("the access logs show %v, not the client 127.0.0.2", remotes)
	}

	// Quiet for three times nginx's read timeout, the session is still
	// there: the pings kept nginx from closing it.
	select {
	case err := <-m1.err:
		t.Fatalf("quiet session ended: %v", err)
	case <-time.After(3 * readTimeout):
	}
	wstest.Send(t, c1, websocket.MessageText, "still here")
	if got := m1.next(t); got != "ereh llits" {
		t.Fatalf("after a quiet while, rev answered %q", got)
	}
}

func TestBehindNginxWithoutPings(t *testing.T) {
	// Without pings nginx drops a quiet session after its read timeout:
	// what TestBehindNginx shows the pings prevent.
	const readTimeout = time.Second
	s := startServer(t, append([]string{"--trusted-proxy=127.0.0.1", "--pingms=0"}, envThenRev...)...)
	proxy := startNginx(t, nginx{upstreams: [2]string{s.addr, s.addr}, readTimeout: readTimeout})
	c := dialFrom(t, "ws://"+proxy+"/ws/", "127.0.0.1", nil)
	m := readAll(c)
	m.env(t)
	start := time.Now()
	select {
	case err := <-m.err:
		if d := time.Since(start); d < readTimeout/2 {
			t.Fatalf("session ended after %v, before nginx's timeout: %v", d, err)
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			t.Fatalf("nginx sent a close frame %v; want the connection dropped", ce)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nginx kept a quiet session open without pings")
	}
	if ev := s.event("disconnected"); ev["remote"] != "127.0.0.1" {
		t.Errorf("disconnected event %v", ev)
	}
}

// through returns a client that connects to addr whatever host a URL
// names; with p, it checks the certificate of 127.0.0.1 against p's CA.
func through(addr string, p *wstest.PKI) *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	if p != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: p.Pool, ServerName: "127.0.0.1"}
	}
	return &http.Client{Transport: tr}
}

// origin returns dial options through client with an Origin header.
func origin(client *http.Client, o string) *websocket.DialOptions {
	return &websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{"Origin": {o}}}
}

// checkEnv reports the variables of env that are not as want says; ""
// wants a variable unset.
func checkEnv(t *testing.T, what string, env, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got, ok := env[name]; ok != (w != "") || got != w {
			t.Errorf("%s: %s=%q (set: %v), want %q", what, name, got, ok, w)
		}
	}
}

func TestBehindNginxSameOrigin(t *testing.T) {
	// A browser's Origin is the host and port it connected to, which
	// nginx passes on in Host.
	s := startServer(t, append([]string{"--trusted-proxy=127.0.0.1", "--sameorigin"}, envThenRev...)...)
	proxy := startNginx(t, nginx{upstreams: [2]string{s.addr, s.addr}})
	_, port, _ := net.SplitHostPort(proxy)
	c := dialFrom(t, "ws://"+proxy+"/ws/", "127.0.0.1", http.Header{
		"Origin": {"http://" + proxy},
		// What the client says itself is not believed: nginx sets
		// X-Forwarded-Proto, and with its X-Forwarded-For, Forwarded
		// is not read.
		"X-Forwarded-Proto": {"https"},
		"Forwarded":         {"for=6.6.6.6;proto=https;host=evil.example"},
	})
	checkEnv(t, "through nginx", readAll(c).env(t), map[string]string{
		"SERVER_NAME": "127.0.0.1",
		"SERVER_PORT": port,
		"HTTPS":       "",
		"REMOTE_ADDR": "127.0.0.1",
	})
	for _, o := range []string{"http://127.0.0.1", "http://elsewhere.example:" + port} {
		if status := dialStatus(t, "ws://"+proxy+"/ws/", origin(nil, o)); status != http.StatusForbidden {
			t.Errorf("Origin %s: %d, want 403", o, status)
		}
	}
}

func TestBehindTLSNginx(t *testing.T) {
	p := wstest.NewPKI(t)
	cgi := t.TempDir()
	writeScript(t, filepath.Join(cgi, "env.cgi"), `printf 'Content-Type: text/plain\n\n'; env`)
	s := startServer(t, append([]string{"--trusted-proxy=127.0.0.1", "--sameorigin", "--allowed-host=example.com", "--cgidir=" + cgi}, envThenRev...)...)
	proxy := startNginx(t, nginx{upstreams: [2]string{s.addr, s.addr}, tls: p})
	client := through(proxy, p)
	_, port, _ := net.SplitHostPort(proxy)
	for _, tc := range []struct{ host, name, port string }{
		{proxy, "127.0.0.1", port},
		// On the scheme's own port neither Host nor Origin names one.
		{"example.com", "example.com", "443"},
	} {
		want := map[string]string{"SERVER_NAME": tc.name, "SERVER_PORT": tc.port, "HTTPS": "on"}
		c := dialWith(t, "wss://"+tc.host+"/ws/", origin(client, "https://"+tc.host))
		checkEnv(t, "session at "+tc.host, readAll(c).env(t), want)
		c.CloseNow()

		resp, err := client.Get("https://" + tc.host + "/ws/env.cgi")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		env := map[string]string{}
		for _, line := range strings.Split(string(body), "\n") {
			name, value, _ := strings.Cut(line, "=")
			env[name] = value
		}
		checkEnv(t, "CGI at "+tc.host, env, want)
	}
	// http://example.com is another origin: port 80, not 443.
	if status := dialStatus(t, "wss://example.com/ws/", origin(client, "http://example.com")); status != http.StatusForbidden {
		t.Errorf("Origin http://example.com: %d, want 403", status)
	}
}

func TestBehindTLSNginxUntrusted(t *testing.T) {
	// Without --trusted-proxy, nginx's headers change nothing: wsbridge
	// sees the plain connection nginx made.
	p := wstest.NewPKI(t)
	s := startServer(t, append([]string{"--sameorigin", "--allowed-host=example.com"}, envThenRev...)...)
	proxy := startNginx(t, nginx{upstreams: [2]string{s.addr, s.addr}, tls: p})
	client := through(proxy, p)
	c := dialWith(t, "wss://example.com/ws/", &websocket.DialOptions{HTTPClient: client})
	checkEnv(t, "untrusted nginx", readAll(c).env(t), map[string]string{
		"SERVER_NAME": "example.com",
		"SERVER_PORT": "80",
		"HTTPS":       "",
		"REMOTE_ADDR": "127.0.0.1",
	})
	if status := dialStatus(t, "wss://example.com/ws/", origin(client, "https://example.com")); status != http.StatusForbidden {
		t.Errorf("Origin https://example.com: %d, want 403", status)
	}
}

func TestBehindNginxWithoutUpgradeHeaders(t *testing.T) {
	// The mistake of a proxy that does not pass the upgrade on is told
	// in the answer and in the log.
	s := startServer(t, "--trusted-proxy=127.0.0.1", "cat")
	proxy := startNginx(t, nginx{
		upstreams: [2]string{s.addr, s.addr},
		drop:      []string{"proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;"},
	})
	_, resp, err := websocket.Dial(wstest.Context(t), "ws://"+proxy+"/ws/chat", nil)
	if err == nil || resp == nil {
		t.Fatalf("the upgrade went through, or no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "WebSocket endpoint") || !strings.Contains(string(body), `"Upgrade: websocket"`) {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	ev := s.event("WebSocket handshake that lost its upgrade headers: a proxy in front must pass Upgrade and Connection on")
	if ev["level"] != "warn" || ev["path"] != "/chat" || ev["reason"] != `no "Upgrade: websocket" and "Connection: Upgrade" headers` {
		t.Errorf("warning %v", ev)
	}
}
