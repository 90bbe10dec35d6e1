package upgrade

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/process"
	"wsbridge/process/proctest"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := parseTrustedProxies([]string{"10.1.2.3/8", "192.0.2.1", " ::1 ", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "::1/128", "2001:db8::/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d: got %v, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "localhost", "10.0.0", "fe80::1%eth0", "1.2.3.4:80", "::1/129"} {
		if _, err := parseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := parseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:1::/48", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		peer    string
		xff     []string // one X-Forwarded-For header each
		realIP  []string
		trusted trustedProxies
		want    string
	}{
		{name: "untrusted peer keeps itself", peer: "192.0.2.9:4000", xff: []string{"6.6.6.6"}, realIP: []string{"7.7.7.7"}, want: "192.0.2.9:4000"},
		{name: "no trusted ranges", peer: "10.0.0.1:4000", xff: []string{"6.6.6.6"}, trusted: trustedProxies{}, want: "10.0.0.1:4000"},
		{name: "trusted peer, one entry", peer: "10.0.0.1:4000", xff: []string{"203.0.113.5"}, want: "203.0.113.5"},
		{name: "spoofed left entries are ignored", peer: "10.0.0.1:4000", xff: []string{"6.6.6.6, 1.1.1.1, 203.0.113.5"}, want: "203.0.113.5"},
		{name: "trusted hops are skipped", peer: "10.0.0.1:4000", xff: []string{"6.6.6.6, 203.0.113.5, 10.9.9.9, 127.0.0.1"}, want: "203.0.113.5"},
		{name: "all trusted gives the leftmost", peer: "10.0.0.1:4000", xff: []string{"10.2.2.2, 10.3.3.3"}, want: "10.2.2.2"},
		{name: "several headers are one list", peer: "10.0.0.1:4000", xff: []string{"6.6.6.6", "203.0.113.5, 10.1.1.1"}, want: "203.0.113.5"},
		{name: "several headers, last one decides", peer: "10.0.0.1:4000", xff: []string{"203.0.113.5", "198.51.100.7"}, want: "198.51.100.7"},
		{name: "entry with a port keeps it", peer: "10.0.0.1:4000", xff: []string{"203.0.113.5:6123"}, want: "203.0.113.5:6123"},
		{name: "IPv6 entry", peer: "[2001:db8:1::2]:4000", xff: []string{"2001:db8:2::7"}, want: "2001:db8:2::7"},
		{name: "IPv6 entry in brackets", peer: "[2001:db8:1::2]:4000", xff: []string{"[2001:db8:2::7]"}, want: "2001:db8:2::7"},
		{name: "IPv6 entry with a port", peer: "[2001:db8:1::2]:4000", xff: []string{"[2001:db8:2::7]:6123"}, want: "[2001:db8:2::7]:6123"},
		{name: "IPv6 zone is dropped", peer: "[2001:db8:1::2]:4000", xff: []string{"fe80::1%eth0"}, want: "fe80::1"},
		{name: "IPv4-mapped IPv6 is IPv4", peer: "10.0.0.1:4000", xff: []string{"::ffff:203.0.113.5"}, want: "203.0.113.5"},
		{name: "trusted IPv6 hop is skipped", peer: "10.0.0.1:4000", xff: []string{"198.51.100.7, 2001:db8:1::9"}, want: "198.51.100.7"},
		{name: "mapped peer is trusted", peer: "[::ffff:10.0.0.1]:4000", xff: []string{"203.0.113.5"}, want: "203.0.113.5"},
		{name: "garbage left of the client is ignored", peer: "10.0.0.1:4000", xff: []string{"<script>, unknown, 203.0.113.5"}, want: "203.0.113.5"},
		{name: "garbage deciding keeps the peer", peer: "10.0.0.1:4000", xff: []string{"203.0.113.5, unknown"}, realIP: []string{"198.51.100.7"}, want: "10.0.0.1:4000"},
		{name: "garbage behind a trusted hop keeps the peer", peer: "10.0.0.1:4000", xff: []string{"6.6.6.6, not-an-ip, 10.1.1.1"}, want: "10.0.0.1:4000"},
		{name: "empty entry keeps the peer", peer: "10.0.0.1:4000", xff: []string{"203.0.113.5, "}, want: "10.0.0.1:4000"},
		{name: "X-Real-IP without X-Forwarded-For", peer: "10.0.0.1:4000", realIP: []string{"198.51.100.7"}, want: "198.51.100.7"},
		{name: "X-Forwarded-For wins over X-Real-IP", peer: "10.0.0.1:4000", xff: []string{"203.0.113.5"}, realIP: []string{"198.51.100.7"}, want: "203.0.113.5"},
		{name: "garbage X-Real-IP keeps the peer", peer: "10.0.0.1:4000", realIP: []string{"unknown"}, want: "10.0.0.1:4000"},
		{name: "two X-Real-IP keep the peer", peer: "10.0.0.1:4000", realIP: []string{"198.51.100.7", "6.6.6.6"}, want: "10.0.0.1:4000"},
		{name: "trusted peer without headers", peer: "127.0.0.1:4000", want: "127.0.0.1:4000"},
		{name: "unix socket peer", peer: "@", xff: []string{"6.6.6.6"}, want: "@"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.realIP {
				r.Header.Add("X-Real-IP", v)
			}
			tr := trusted
			if tt.trusted != nil {
				tr = tt.trusted
			}
			if got, _, _ := tr.forwarded(r); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTrustedProxyServer(t *testing.T) {
	for _, tt := range []struct {
		trusted    string
		wantRemote string
	}{
		{"127.0.0.0/8", "203.0.113.5"},
		{"10.0.0.0/8", "127.0.0.1"},
	} {
		t.Run(tt.trusted, func(t *testing.T) {
			_, addr, logs := startServer(t, Config{
				Process:        process.Config{Path: "/usr/bin/env"},
				TrustedProxies: []string{tt.trusted},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{
				HTTPHeader: http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.5"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			env := map[string]string{}
			for {
				_, msg, err := c.Read(ctx)
				if err != nil {
					break
				}
				name, value, _ := strings.Cut(string(msg), "=")
				env[name] = value
			}
			wantPort := ""
			if tt.wantRemote == "127.0.0.1" {
				wantPort = env["REMOTE_PORT"]
				if wantPort == "" {
					t.Error("no REMOTE_PORT for a direct client")
				}
			}
			for name, want := range map[string]string{
				"REMOTE_ADDR": tt.wantRemote,
				"REMOTE_HOST": tt.wantRemote,
				"REMOTE_PORT": wantPort,
			} {
				if got, ok := env[name]; !ok || got != want {
					t.Errorf("%s=%q, want %q", name, got, want)
				}
			}
			remote, _, _ := strings.Cut(waitEvent(t, logs, "connected")["remote"].(string), ":")
			if remote != tt.wantRemote {
				t.Errorf("connected event: remote %q, want %q", remote, tt.wantRemote)
			}

			req, _ := http.NewRequest("GET", "http://"+addr+"/plain", nil)
			req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.5")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			remote, _, _ = strings.Cut(waitEvent(t, logs, "http")["remote"].(string), ":")
			if remote != tt.wantRemote {
				t.Errorf("http event: remote %q, want %q", remote, tt.wantRemote)
			}
		})
	}
}

// waitEvent waits for the first event with the given message in logs.
func waitEvent(t *testing.T, logs *syncBuffer, message string) map[string]any {
	t.Helper()
	var ev map[string]any
	proctest.Eventually(t, 10*time.Second, func() error {
		evs := logs.events(message)
		if len(evs) == 0 {
			return fmt.Errorf("no %q event", message)
		}
		ev = evs[0]
		return nil
	})
	return ev
}

func TestForwarded(t *testing.T) {
	trusted, err := parseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:1::/48", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	const peer = "10.0.0.1:4000"
	for _, tt := range []struct {
		name   string
		peer   string // peer when not ""
		host   string // Host header; example.com when ""
		tls    bool
		header http.Header
		addr   string // the client's address; the peer when ""
		to     string // scheme://host:port
	}{
		{name: "no headers", to: "http://example.com:80"},
		{name: "no headers, TLS", tls: true, to: "https://example.com:443"},
		{name: "Host with a port", host: "example.com:8080", to: "http://example.com:8080"},
		{name: "IPv6 Host", host: "[2001:db8::5]:8080", to: "http://2001:db8::5:8080"},

		// X-Forwarded-*.
		{name: "proto https takes its port", header: http.Header{"X-Forwarded-Proto": {"https"}}, to: "https://example.com:443"},
		{name: "proto https, Host's port kept", host: "example.com:8443", header: http.Header{"X-Forwarded-Proto": {"HTTPS"}}, to: "https://example.com:8443"},
		{name: "proto http on TLS", tls: true, header: http.Header{"X-Forwarded-Proto": {"http"}}, to: "http://example.com:80"},
		{name: "proto wss", header: http.Header{"X-Forwarded-Proto": {"wss"}}, to: "https://example.com:443"},
		{name: "proto ws", tls: true, header: http.Header{"X-Forwarded-Proto": {"ws"}}, to: "http://example.com:80"},
		{name: "proto not http is ignored", tls: true, header: http.Header{"X-Forwarded-Proto": {"ftp"}}, to: "https://example.com:443"},
		{name: "last proto wins", header: http.Header{"X-Forwarded-Proto": {"http, https"}}, to: "https://example.com:443"},
		{name: "last proto header wins", header: http.Header{"X-Forwarded-Proto": {"https", "http"}}, to: "http://example.com:80"},
		{name: "forwarded host", host: "127.0.0.1:8081", header: http.Header{"X-Forwarded-Host": {"public.example:444"}}, to: "http://public.example:444"},
		{name: "forwarded host without port", host: "127.0.0.1:8081", header: http.Header{"X-Forwarded-Host": {"public.example"}, "X-Forwarded-Proto": {"https"}}, to: "https://public.example:443"},
		{name: "forwarded IPv6 host", header: http.Header{"X-Forwarded-Host": {"[2001:db8::5]:9000"}}, to: "http://2001:db8::5:9000"},
		{name: "last forwarded host", header: http.Header{"X-Forwarded-Host": {"a.example, b.example"}}, to: "http://b.example:80"},
		{name: "forwarded port", header: http.Header{"X-Forwarded-Port": {"8443"}, "X-Forwarded-Proto": {"https"}}, to: "https://example.com:8443"},
		{name: "forwarded port with zeros", header: http.Header{"X-Forwarded-Port": {"0443"}}, to: "http://example.com:443"},
		{name: "Host's port wins over forwarded port", host: "example.com:8080", header: http.Header{"X-Forwarded-Port": {"9090"}}, to: "http://example.com:8080"},
		{name: "forwarded host's port wins", header: http.Header{"X-Forwarded-Host": {"public.example:444"}, "X-Forwarded-Port": {"9090"}}, to: "http://public.example:444"},
		{name: "junk port is ignored", header: http.Header{"X-Forwarded-Port": {"99999"}}, to: "http://example.com:80"},
		{name: "junk host is ignored", host: "example.com:8080", header: http.Header{"X-Forwarded-Host": {"evil.example/path"}}, to: "http://example.com:8080"},
		{name: "host with junk port is ignored", header: http.Header{"X-Forwarded-Host": {"public.example:x"}}, to: "http://example.com:80"},
		{name: "host with user is ignored", header: http.Header{"X-Forwarded-Host": {"user@public.example"}}, to: "http://example.com:80"},
		{name: "unbracketed IPv6 host is ignored", header: http.Header{"X-Forwarded-Host": {"2001:db8::5"}}, to: "http://example.com:80"},
		{name: "address and origin together", header: http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.5"}, "X-Forwarded-Proto": {"https"}}, addr: "203.0.113.5", to: "https://example.com:443"},

		// Forwarded.
		{name: "Forwarded", header: http.Header{"Forwarded": {"for=203.0.113.5;proto=https;host=public.example"}}, addr: "203.0.113.5", to: "https://public.example:443"},
		{name: "Forwarded, quoted IPv6 with port", header: http.Header{"Forwarded": {`for="[2001:db8:2::7]:4711";proto=https`}}, addr: "[2001:db8:2::7]:4711", to: "https://example.com:443"},
		{name: "Forwarded, quoted host with port", header: http.Header{"Forwarded": {`for=203.0.113.5;host="public.example:8443"`}}, addr: "203.0.113.5", to: "http://public.example:8443"},
		{name: "Forwarded, names in any case", header: http.Header{"Forwarded": {"For=203.0.113.5;PROTO=HTTPS"}}, addr: "203.0.113.5", to: "https://example.com:443"},
		{name: "Forwarded, spaces and empty elements", header: http.Header{"Forwarded": {" , for=203.0.113.5 ;proto=https ,"}}, addr: "203.0.113.5", to: "https://example.com:443"},
		{name: "Forwarded, other parameters", header: http.Header{"Forwarded": {`by="a,b;c=\"d\"";for=203.0.113.5;ext=x;proto=https`}}, addr: "203.0.113.5", to: "https://example.com:443"},
		{name: "Forwarded, the client's elements are passed over", header: http.Header{"Forwarded": {"for=6.6.6.6;proto=http;host=evil.example, for=203.0.113.5;proto=https;host=public.example"}}, addr: "203.0.113.5", to: "https://public.example:443"},
		{name: "Forwarded, trusted hops are skipped", header: http.Header{"Forwarded": {"for=6.6.6.6;host=evil.example, for=203.0.113.5;proto=https;host=public.example, for=10.1.1.1;proto=http;host=inner.example"}}, addr: "203.0.113.5", to: "https://public.example:443"},
		{name: "Forwarded, all trusted gives the leftmost", header: http.Header{"Forwarded": {"for=10.2.2.2;host=a.example, for=10.3.3.3;host=b.example"}}, addr: "10.2.2.2", to: "http://a.example:80"},
		{name: "Forwarded, several headers are one list", header: http.Header{"Forwarded": {"for=6.6.6.6;host=evil.example", "for=203.0.113.5;host=public.example"}}, addr: "203.0.113.5", to: "http://public.example:80"},
		{name: "Forwarded, unknown client", header: http.Header{"Forwarded": {"for=203.0.113.5;host=evil.example, for=unknown;proto=https;host=public.example"}}, to: "https://public.example:443"},
		{name: "Forwarded, obfuscated client", header: http.Header{"Forwarded": {`for="_hidden";proto=https`}}, to: "https://example.com:443"},
		{name: "Forwarded, no for", header: http.Header{"Forwarded": {"proto=https;host=public.example"}}, to: "https://public.example:443"},
		{name: "Forwarded, junk values are ignored", tls: true, header: http.Header{"Forwarded": {`for=203.0.113.5;proto=ftp;host="evil.example/x"`}}, addr: "203.0.113.5", to: "https://example.com:443"},
		{name: "Forwarded, unterminated quote", header: http.Header{"Forwarded": {`for="203.0.113.5;proto=https`}}, to: "http://example.com:80"},
		{name: "Forwarded, a parameter twice", header: http.Header{"Forwarded": {"for=203.0.113.5;proto=https;proto=http"}}, to: "http://example.com:80"},
		{name: "Forwarded, no value", header: http.Header{"Forwarded": {"for=;proto=https"}}, to: "http://example.com:80"},
		{name: "Forwarded, junk deciding", header: http.Header{"Forwarded": {"for=203.0.113.5;proto=https", "for=6.6.6.6;proto=http;;=x"}}, to: "http://example.com:80"},
		{name: "Forwarded, junk left of the client", header: http.Header{"Forwarded": {`for="x`, "for=203.0.113.5;proto=https"}}, addr: "203.0.113.5", to: "https://example.com:443"},

		// One kind of header, never a mix.
		{name: "X-Forwarded-For wins over Forwarded", header: http.Header{"X-Forwarded-For": {"203.0.113.5"}, "Forwarded": {"for=6.6.6.6;proto=https;host=evil.example"}}, addr: "203.0.113.5", to: "http://example.com:80"},
		{name: "X-Real-IP wins over Forwarded", header: http.Header{"X-Real-Ip": {"203.0.113.5"}, "Forwarded": {"for=6.6.6.6;proto=https"}}, addr: "203.0.113.5", to: "http://example.com:80"},
		{name: "Forwarded does not take X-Forwarded-Proto", header: http.Header{"Forwarded": {"for=203.0.113.5"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"}}, addr: "203.0.113.5", to: "http://example.com:80"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = peer
			if tt.peer != "" {
				r.RemoteAddr = tt.peer
			}
			r.Host = "example.com"
			if tt.host != "" {
				r.Host = tt.host
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for name, values := range tt.header {
				r.Header[name] = values
			}
			want := tt.addr
			if want == "" {
				want = r.RemoteAddr
			}
			addr, to, ok := trusted.forwarded(r)
			if got := to.scheme + "://" + to.host + ":" + to.port; !ok || addr != want || got != tt.to {
				t.Errorf("got %q %s (trusted: %v), want %q %s", addr, got, ok, want, tt.to)
			}
		})
	}
}

func TestForwardedFromUntrustedPeer(t *testing.T) {
	trusted, err := parseTrustedProxies([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, peer := range []string{"192.0.2.9:4000", "@"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "evil.example")
		if addr, _, ok := trusted.forwarded(r); ok || addr != peer {
			t.Errorf("peer %s: %q, trusted %v", peer, addr, ok)
		}
		if to := sentTo(r); to != (origin{"http", "example.com", "80"}) {
			t.Errorf("peer %s: sent to %v", peer, to)
		}
	}
}

func TestSentToAllocatesNothing(t *testing.T) {
	// Without a trusted proxy, where a request was sent costs nothing.
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{}
	var to origin
	if n := testing.AllocsPerRun(100, func() { to = sentTo(r) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if to != (origin{"https", "example.com", "443"}) {
		t.Errorf("sent to %v", to)
	}
}

func TestForwardedServer(t *testing.T) {
	// A session's program and a CGI program see where the client
	// connected, as a trusted proxy names it, and no one else can name
	// it.
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho \"$SERVER_NAME $SERVER_PORT ${HTTPS-unset}\"\n"
	if err := os.WriteFile(filepath.Join(dir, "where.cgi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	header := http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"public.example"}}
	for _, tt := range []struct {
		trusted string
		want    string
	}{
		{"127.0.0.0/8", "public.example 443 on"},
		{"10.0.0.0/8", "127.0.0.1 PORT unset"},
	} {
		t.Run(tt.trusted, func(t *testing.T) {
			_, addr, _ := startServer(t, Config{
				Process:        process.Config{Path: "/bin/sh", Args: []string{"-c", `echo "$SERVER_NAME $SERVER_PORT ${HTTPS-unset}"`}},
				CGIDir:         dir,
				TrustedProxies: []string{tt.trusted},
				SameOrigin:     true,
			})
			_, port, _ := net.SplitHostPort(addr)
			want := strings.Replace(tt.want, "PORT", port, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			h := header.Clone()
			h.Set("Origin", "https://public.example")
			c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{HTTPHeader: h})
			if tt.trusted == "10.0.0.0/8" {
				// The Origin is not where the client connected.
				if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("foreign origin: %v", err)
				}
				h.Del("Origin")
				c, _, err = websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{HTTPHeader: h})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if _, msg, err := c.Read(ctx); err != nil || string(msg) != want {
				t.Errorf("session: %q %v, want %q", msg, err, want)
			}

			req, _ := http.NewRequest("GET", "http://"+addr+"/where.cgi", nil)
			req.Header = header.Clone()
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := strings.TrimSpace(string(body)); got != want {
				t.Errorf("CGI: %q, want %q", got, want)
			}
		})
	}
}
