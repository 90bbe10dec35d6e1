package main_test

// End-to-end tests of hostile request headers and hosts: what a client
// puts in Host, Proxy and Cookie, and what wrong passwords sent without
// end do to everyone else's logins.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/bcrypt"

	"wsbridge/bridge/wstest"
	"wsbridge/process/proctest"
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
	io.WriteString(conn, strings.Replace(upgradeRequest("/", extra), "Host: localhost\r\n", "Host: "+host+"\r\n", 1))
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
	status, _, body := rawGet(t, addr, host, "/env.cgi", "Connection: close\r\n"+extra)
	if status != http.StatusOK {
		t.Fatalf("/env.cgi with Host %q: %d %q", host, status, body)
	}
	return envMap(strings.Split(body, "\n"))
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

// rebindingWarning is the warning logged for a request refused for its
// Host.
const rebindingWarning = "refused a request for a host not served on loopback: --allowed-host serves it"

func TestDNSRebindingRefusedOnLoopback(t *testing.T) {
	// A page of evil.example that makes its name lead to 127.0.0.1 sends
	// Origin and Host evil.example, so --sameorigin lets it in; on
	// loopback, the Host is what gives it away.
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "started")
	cgi := t.TempDir()
	writeScript(t, filepath.Join(cgi, "env.cgi"), "printf 'Content-Type: text/plain\\n\\n'; env")
	s := startServer(t, "--sameorigin", "--cgidir="+cgi, "--trusted-proxy=127.0.0.1", "--allowed-host=.app.test",
		"sh", "-c", "touch "+marker+"; exec cat")
	_, port, _ := net.SplitHostPort(s.addr)
	evil := "evil.example:" + port
	for name, extra := range map[string]string{
		"upgrade": "Origin: http://" + evil + "\r\n",
		// A rebinding page's fetch may add forwarding headers; Host
		// it cannot change, and Host counts.
		"upgrade with X-Forwarded-Host": "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Host: localhost\r\n",
		"upgrade with Forwarded":        "Forwarded: for=192.0.2.1;host=localhost\r\n",
	} {
		req := strings.Replace(upgradeRequest("/", extra), "Host: localhost\r\n", "Host: "+evil+"\r\n", 1)
		if status := rawAnswer(t, s.addr, []byte(req)); status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, status)
		}
	}
	status, _, body := rawGet(t, s.addr, evil, "/env.cgi", "Connection: close\r\n")
	if status != http.StatusForbidden || !strings.Contains(body, "--allowed-host=evil.example") {
		t.Errorf("CGI: %d %.80q, want 403 naming --allowed-host=evil.example", status, body)
	}
	if ev := s.event(rebindingWarning); ev["level"] != "warn" || ev["host"] != "evil.example" {
		t.Errorf("warning %v", ev)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a request for evil.example started the program")
	}

	// Loopback names and addresses, and the names listed, are served.
	for _, host := range []string{"localhost:" + port, "dev.localhost", "127.0.0.1:" + port, "[::1]:" + port, "app.test", "www.app.test:" + port} {
		req := strings.Replace(upgradeRequest("/", ""), "Host: localhost\r\n", "Host: "+host+"\r\n", 1)
		if status := rawAnswer(t, s.addr, []byte(req)); status != http.StatusSwitchingProtocols {
			t.Errorf("upgrade for %s: %d, want 101", host, status)
		}
		if status, _, _ := rawGet(t, s.addr, host, "/env.cgi", "Connection: close\r\n"); status != http.StatusOK {
			t.Errorf("CGI for %s: %d, want 200", host, status)
		}
	}
}

func TestDNSRebindingRefusedForPlainHTTP(t *testing.T) {
	// A rebinding page could read the files and the dev console too.
	t.Parallel()
	static := t.TempDir()
	writeFile(t, filepath.Join(static, "index.html"), "secret")
	for _, args := range [][]string{{"--staticdir=" + static}, {"--devconsole"}} {
		s := startServer(t, append(args, "cat")...)
		if status, _, body := rawGet(t, s.addr, "evil.example", "/", "Connection: close\r\n"); status != http.StatusForbidden || strings.Contains(body, "secret") {
			t.Errorf("%s, Host evil.example: %d %.80q, want 403", args[0], status, body)
		}
		if status, _, _ := rawGet(t, s.addr, "localhost", "/", "Connection: close\r\n"); status != http.StatusOK {
			t.Errorf("%s, Host localhost: %d, want 200", args[0], status)
		}
	}
}

func TestAnyHostServedOnAUnixSocket(t *testing.T) {
	// A unix socket no browser can reach. (Listening on all interfaces,
	// where the service is meant to be reached under its public names,
	// is TestHostsNotCheckedOffLoopback's, in upgrade: tests listen on
	// loopback only.)
	t.Parallel()
	dir, err := os.MkdirTemp("", "wsb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "ws.sock")
	startServerArgs(t, "--unixsocket="+sock, "--devconsole", "cat")
	resp, err := unixDial(sock).HTTPClient.Get("http://evil.example/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("unix socket: %d, want 200", resp.StatusCode)
	}
}

func TestBehindNginxOnLoopbackNamesAreListed(t *testing.T) {
	// nginx passes the browser's Host on; wsbridge on 127.0.0.1 serves
	// the names nginx serves once they are listed, and says so when one
	// is not.
	s := startServer(t, append([]string{"--trusted-proxy=127.0.0.1"}, envThenRev...)...)
	proxy := startNginx(t, nginx{upstreams: [2]string{s.addr, s.addr}})
	_, resp, err := websocket.Dial(wstest.Context(t), "ws://app.test/ws/", &websocket.DialOptions{HTTPClient: through(proxy, nil)})
	if err == nil || resp == nil {
		t.Fatalf("upgrade for app.test went through, or no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "--allowed-host=app.test") {
		t.Errorf("app.test: %d %q", resp.StatusCode, body)
	}

	s = startServer(t, append([]string{"--trusted-proxy=127.0.0.1", "--allowed-host=app.test"}, envThenRev...)...)
	proxy = startNginx(t, nginx{upstreams: [2]string{s.addr, s.addr}})
	c := dialWith(t, "ws://app.test/ws/", &websocket.DialOptions{HTTPClient: through(proxy, nil)})
	checkEnv(t, "app.test listed", readAll(c).env(t), map[string]string{"SERVER_NAME": "app.test", "SERVER_PORT": "80"})
}

// loginAs sends a plain GET to the server at addr from the client address
// client (forwarded by a trusted proxy) with Basic credentials, and
// returns the status and how long the answer took.
func loginAs(t *testing.T, client *http.Client, addr, from, user, password string) (int, time.Duration) {
	t.Helper()
	req, err := http.NewRequestWithContext(wstest.Context(t), "GET", "http://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", from)
	req.SetBasicAuth(user, password)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

func TestWrongPasswordsDoNotQueueOthersLogins(t *testing.T) {
	// 40 clients at one address send wrong passwords without end; users
	// at other addresses log in as fast as one comparison allows.
	skipShort(t) // waits out a penalty of several seconds
	const attackers, logins = 40, 5
	users := filepath.Join(t.TempDir(), "users")
	var file strings.Builder
	for i := range logins {
		// A cost that keeps this test short under the race detector.
		h, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprint("secret ", i)), 8)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&file, "user%d:%s\n", i, h)
	}
	if err := os.WriteFile(users, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--basic-auth-file="+users, "--trusted-proxy=127.0.0.1", "cat")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: attackers + 1}}
	defer client.CloseIdleConnections()

	// The fastest a login can be: alone, one comparison.
	_, alone := loginAs(t, client, s.addr, "198.51.100.99", "user0", "secret 0")

	stop, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent atomic.Int64
	for i := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; stop.Err() == nil; n++ {
				req, _ := http.NewRequestWithContext(stop, "GET", "http://"+s.addr+"/", nil)
				req.Header.Set("X-Forwarded-For", "192.0.2.66")
				req.SetBasicAuth("user1", fmt.Sprint("guess ", i, " ", n))
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				sent.Add(1)
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	s.event("refused credentials") // the attack is under way

	var took []time.Duration
	for i := 1; i < logins; i++ {
		status, d := loginAs(t, client, s.addr, fmt.Sprintf("198.51.100.%d", i), fmt.Sprint("user", i), fmt.Sprint("secret ", i))
		if status != http.StatusNotFound {
			t.Errorf("user%d during the attack: %d, want 404 (in, nothing at /)", i, status)
		}
		took = append(took, d)
	}
	slices.Sort(took)
	t.Logf("a good login alone: %v; during the attack of %d clients, median %v, slowest %v; %d wrong passwords sent",
		alone.Round(time.Millisecond), attackers, took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), sent.Load())
	// Generous: the figure is logged, not measured here.
	if slowest := took[len(took)-1]; slowest > 5*alone+time.Second {
		t.Errorf("a good login took %v during the attack, %v alone", slowest, alone)
	}

	// The attackers' address is in the penalty box: even the good
	// password is refused there, until its penalty is over. The check
	// comes right after a penalty of 4 s began, not where one ends and
	// the next comparison may be the good password's.
	s.matching(1, func(ev map[string]any) bool {
		ms, _ := ev["penalty"].(float64)
		return ev["message"] == "wrong credentials: the next ones from this address are refused for a while" && ev["remote"] == "192.0.2.66" && ms >= 4000
	}, "a penalty of 4 s or more for the attackers' address")
	if status, _ := loginAs(t, client, s.addr, "192.0.2.66", "user1", "secret 1"); status != http.StatusUnauthorized {
		t.Errorf("the good password from the attackers' address during the attack: %d, want 401", status)
	}
	if ev := s.event("wrong credentials: the next ones from this address are refused for a while"); ev["remote"] != "192.0.2.66" || ev["level"] != "warn" {
		t.Errorf("penalty event %v", ev)
	}
	cancel()
	wg.Wait()
	proctest.Eventually(t, 90*time.Second, func() error {
		if status, _ := loginAs(t, client, s.addr, "192.0.2.66", "user1", "secret 1"); status != http.StatusNotFound {
			return errors.New("the good password from the attackers' address is still refused")
		}
		return nil
	})
}
