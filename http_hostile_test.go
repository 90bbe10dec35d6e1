package main

// End-to-end tests of hostile request headers and hosts: what a client
// puts in Host, Proxy and Cookie, and what wrong passwords sent without
// end do to everyone else's logins.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envServer starts wsbridge on 127.0.0.1 with env as each session's
// program and as the CGI program /env.cgi, with env added to wsbridge's
// own environment and args before the command.
func envServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cgi := t.TempDir()
	writeScript(t, filepath.Join(cgi, "env.cgi"), "printf 'Content-Type: text/plain\\n\\n'; env")
	args = append([]string{"--address=127.0.0.1", "--port=0", "--cgidir=" + cgi}, args...)
	return startServerEnv(t, env, append(args, "env")...)
}

// sessionEnv upgrades a new connection to addr with the Host host and the
// header lines extra (each ending in "\r\n"), and returns the environment
// its program prints.
func sessionEnv(t *testing.T, addr, host, extra string) map[string]string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, strings.Replace(upgradeRequest("/", extra), "Host: x\r\n", "Host: "+host+"\r\n", 1))
	c := &rawConn{Conn: conn, r: bufio.NewReader(conn)}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade with Host %q: %d", host, resp.StatusCode)
	}
	return envMap(c.readTexts(t))
}

// cgiEnv asks addr for /env.cgi with the Host host and the header lines
// extra, and returns the environment the CGI program prints.
func cgiEnv(t *testing.T, addr, host, extra string) map[string]string {
	t.Helper()
	status, body := rawPlain(t, addr, "/env.cgi", host, extra)
	if status != http.StatusOK {
		t.Fatalf("/env.cgi with Host %q: %d %q", host, status, body)
	}
	return envMap(strings.Split(body, "\n"))
}

// rawPlain sends a GET of path to addr with the Host host and the header
// lines extra, and returns the status and body of the answer.
func rawPlain(t *testing.T, addr, path, host, extra string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n"+extra+"\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// envMap makes a map of the lines "NAME=value" of env.
func envMap(lines []string) map[string]string {
	env := map[string]string{}
	for _, line := range lines {
		if name, value, ok := strings.Cut(line, "="); ok {
			env[name] = value
		}
	}
	return env
}

func TestProxyHeaderIsNoHTTPProxy(t *testing.T) {
	// httpoxy: a client's Proxy header would become HTTP_PROXY, and the
	// program's own HTTP requests would go through the client's proxy.
	// The HTTP_PROXY passed on from wsbridge's environment is the one.
	t.Parallel()
	s := envServer(t, []string{"HTTP_PROXY=http://proxy.internal:3128"}, "--passenv=PATH,HTTP_PROXY")
	for name, env := range map[string]map[string]string{
		"session": sessionEnv(t, s.addr, "localhost", "Proxy: http://evil.example:1\r\n"),
		"CGI":     cgiEnv(t, s.addr, "localhost", "Proxy: http://evil.example:1\r\n"),
	} {
		if got := env["HTTP_PROXY"]; got != "http://proxy.internal:3128" {
			t.Errorf("%s: HTTP_PROXY=%q", name, got)
		}
	}
	s = envServer(t, nil)
	for name, env := range map[string]map[string]string{
		"session": sessionEnv(t, s.addr, "localhost", "Proxy: http://evil.example:1\r\n"),
		"CGI":     cgiEnv(t, s.addr, "localhost", "Proxy: http://evil.example:1\r\n"),
	} {
		if got, ok := env["HTTP_PROXY"]; ok {
			t.Errorf("%s: HTTP_PROXY=%q from a client's header", name, got)
		}
	}
}

func TestSeveralCookieHeadersAreOneList(t *testing.T) {
	// RFC 6265 separates cookies with "; ", and a program splitting
	// HTTP_COOKIE on it must find each cookie whole.
	t.Parallel()
	s := envServer(t, nil)
	for name, env := range map[string]map[string]string{
		"session": sessionEnv(t, s.addr, "localhost", "Cookie: a=1\r\nCookie: b=2\r\n"),
		"CGI":     cgiEnv(t, s.addr, "localhost", "Cookie: a=1\r\nCookie: b=2\r\n"),
	} {
		if got := env["HTTP_COOKIE"]; got != "a=1; b=2" {
			t.Errorf("%s: HTTP_COOKIE=%q, want %q", name, got, "a=1; b=2")
		}
	}
}

func TestServerNameAndPortFromBadHost(t *testing.T) {
	// A Host that is no host[:port] says nothing of where the request
	// went: the programs are told the address and port wsbridge listens
	// on instead. A valid one is passed on.
	t.Parallel()
	s := envServer(t, nil)
	_, port, _ := net.SplitHostPort(s.addr)
	for host, want := range map[string][2]string{
		"evil:99999":    {"127.0.0.1", port},
		"a:b:c":         {"127.0.0.1", port},
		"localhost:0":   {"127.0.0.1", port},
		"a!b:80":        {"127.0.0.1", port},
		"localhost:81":  {"localhost", "81"},
		"127.0.0.2":     {"127.0.0.2", "80"},
		"[::1]:9":       {"::1", "9"},
		"Localhost:443": {"Localhost", "443"},
	} {
		for name, env := range map[string]map[string]string{
			"session": sessionEnv(t, s.addr, host, ""),
			"CGI":     cgiEnv(t, s.addr, host, ""),
		} {
			if env["SERVER_NAME"] != want[0] || env["SERVER_PORT"] != want[1] {
				t.Errorf("%s, Host %q: SERVER_NAME=%q SERVER_PORT=%q, want %q and %q",
					name, host, env["SERVER_NAME"], env["SERVER_PORT"], want[0], want[1])
			}
		}
	}
}
