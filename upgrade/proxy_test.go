package upgrade

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wsbridge/process"
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
			if got := tr.clientAddr(r); got != tt.want {
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
	for deadline := time.Now().Add(10 * time.Second); ; {
		if evs := logs.events(message); len(evs) > 0 {
			return evs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q event", message)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
