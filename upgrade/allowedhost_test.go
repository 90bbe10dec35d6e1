package upgrade

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsbridge/process/proctest"
	"wsbridge/upgrade/listen"
)

func TestParseAllowedHostsErrors(t *testing.T) {
	for _, e := range []string{"*", "example.com:80", "[::1]", "a b", "http://example.com", "..", "exa/mple"} {
		if _, err := parseAllowedHosts([]string{e}); err == nil || !strings.Contains(err.Error(), "--allowed-host") {
			t.Errorf("%q: %v", e, err)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	a, err := parseAllowedHosts([]string{"App.Example.", ".corp.example", " ", "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"localhost":         true,
		"LocalHost.":        true,
		"dev.localhost":     true,
		"127.0.0.1":         true,
		"192.0.2.1":         true,
		"::1":               true,
		"app.example":       true,
		"APP.EXAMPLE.":      true,
		"corp.example":      true,
		"a.b.corp.example":  true,
		"evil.example":      false,
		"example":           false,
		"xapp.example":      false,
		"evilcorp.example":  false,
		"localhost.evil":    false,
		"notlocalhost":      false,
		"app.example.evil":  false,
		"corp.example.evil": false,
		"":                  false,
	} {
		if got := a.allows(host); got != want {
			t.Errorf("%q: %v, want %v", host, got, want)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	listen := func(network, addr string) net.Listener {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	loopback, unix := listen("tcp", "127.0.0.1:0"), listen("unix", proctest.SocketPath(t))
	all := seenAt(listen("tcp", "127.0.0.1:0"), "0.0.0.0")
	for _, tc := range []struct {
		name string
		lns  []net.Listener
		want bool
	}{
		{"127.0.0.1", []net.Listener{loopback}, true},
		{"127.0.0.1 and a unix socket", []net.Listener{unix, loopback}, true},
		{"a unix socket", []net.Listener{unix}, false},
		{"all interfaces", []net.Listener{all}, false},
		{"127.0.0.1 and all interfaces", []net.Listener{loopback, all}, false},
	} {
		if got := loopbackOnly(tc.lns); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestRefusedHostServer(t *testing.T) {
	cfg := catConfig()
	cfg.AllowedHosts = []string{".example.com"}
	cfg.TrustedProxies = []string{"127.0.0.1"}
	_, addr, logs := startServer(t, cfg)
	const upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, tc := range []struct {
		host, header string
		want         int
	}{
		{"evil.example", "", 403},
		{"evil.example:8080", upgrade, 403},
		// The Host the connection's client sent counts, whatever
		// the forwarding headers say.
		{"evil.example", "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Host: localhost\r\n", 403},
		{"evil.example", "Forwarded: for=192.0.2.1;host=localhost\r\n", 403},
		{"localhost", "", 404},
		{"api.localhost:8080", "", 404},
		{"127.0.0.1", "", 404},
		{"[::1]:8080", "", 404},
		{"example.com", "", 404},
		{"www.example.com", upgrade, 101},
		{"a:b:c", "", 404}, // no host: the listener's address
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+tc.host+"\r\n"+tc.header+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		conn.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Host %q: %d, want %d", tc.host, resp.StatusCode, tc.want)
		}
		name, _, _ := strings.Cut(tc.host, ":")
		if tc.want == 403 && !strings.Contains(string(body), "--allowed-host="+name) {
			t.Errorf("Host %q: body %q does not name the flag", tc.host, body)
		}
	}
	warnings := logs.events("refused a request for a host not served on loopback: --allowed-host serves it")
	if len(warnings) != 4 || warnings[0]["level"] != "warn" || warnings[0]["host"] != "evil.example" {
		t.Errorf("warnings %v", warnings)
	}
	if refused := logs.events("refused"); len(refused) != 1 || refused[0]["status"] != float64(403) {
		t.Errorf("refused upgrades %v", refused)
	}
}

func TestHostsNotCheckedOffLoopback(t *testing.T) {
	// On all interfaces the service is meant to be reached under any
	// name, and on a unix socket no browser can reach it.
	srv, err := NewServer(catConfig())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	all := seenAt(ln, "0.0.0.0")
	path := proctest.SocketPath(t)
	unix, err := listen.Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(all, unix)
	defer srv.Shutdown(t.Context())
	_, port, _ := net.SplitHostPort(all.Addr().String())
	for network, addr := range map[string]string{"tcp": "127.0.0.1:" + port, "unix": path} {
		conn, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", network, resp.StatusCode)
		}
	}
}

// addrListener is a listener that reports another address than its own.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

// seenAt returns ln, a TCP listener on 127.0.0.1, reporting that it
// listens on ip at the same port: tests see how the server treats an
// address beyond loopback without listening beyond loopback.
func seenAt(ln net.Listener, ip string) net.Listener {
	addr := *ln.Addr().(*net.TCPAddr)
	addr.IP = net.ParseIP(ip)
	return addrListener{ln, &addr}
}
