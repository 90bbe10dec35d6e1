package upgrade

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsbridge/process/proctest"
)

func TestIsUpgrade(t *testing.T) {
	for _, tc := range []struct {
		connection, upgrade string
		want                bool
	}{
		{"Upgrade", "websocket", true},
		{"keep-alive, Upgrade", "WebSocket", true},
		{"keep-alive", "websocket", false},
		{"Upgrade", "h2c", false},
		{"", "", false},
	} {
		h := http.Header{}
		if tc.connection != "" {
			h.Set("Connection", tc.connection)
		}
		if tc.upgrade != "" {
			h.Set("Upgrade", tc.upgrade)
		}
		if got := isUpgrade(&http.Request{Header: h}); got != tc.want {
			t.Errorf("Connection %q, Upgrade %q: %v", tc.connection, tc.upgrade, got)
		}
	}
}

func TestNotUpgraded(t *testing.T) {
	// A plain request where an upgrade would have reached a program is
	// told what it lacked, and a handshake that lost its upgrade headers
	// is logged; any other keeps the plain 404.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "chat.sh"), []byte("#!/bin/sh\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const (
		plain        = "404 page not found"
		endpoint     = "404 page not found: this is a WebSocket endpoint and the request has no %s (a proxy in front must pass Upgrade and Connection on)"
		both         = `"Upgrade: websocket" and "Connection: Upgrade" headers`
		noUpgrade    = `"Upgrade: websocket" header`
		noConnection = `"Connection: Upgrade" header`
		key          = "dGhlIHNhbXBsZSBub25jZQ=="
	)
	for _, tt := range []struct {
		name   string
		cfg    Config
		path   string
		header http.Header
		want   string
		warned string // the reason logged with lostUpgrade; "" for none
	}{
		{"command", catConfig(), "/anything", nil, fmt.Sprintf(endpoint, both), ""},
		{"handshake without both", catConfig(), "/", http.Header{"Sec-Websocket-Key": {key}, "Connection": {"close"}}, fmt.Sprintf(endpoint, both), "no " + both},
		{"handshake without Connection", catConfig(), "/", http.Header{"Upgrade": {"websocket"}, "Connection": {"close"}}, fmt.Sprintf(endpoint, noConnection), "no " + noConnection},
		{"handshake without Upgrade", catConfig(), "/", http.Header{"Connection": {"Upgrade"}, "Sec-Websocket-Key": {key}}, fmt.Sprintf(endpoint, noUpgrade), "no " + noUpgrade},
		{"a program of --dir", Config{Dir: dir}, "/chat.sh/room", nil, fmt.Sprintf(endpoint, both), ""},
		{"no program of --dir", Config{Dir: dir}, "/favicon.ico", http.Header{"Sec-Websocket-Key": {key}}, plain, ""},
		{"a missing file of --staticdir", Config{Process: catConfig().Process, StaticDir: dir}, "/favicon.ico", nil, plain, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, addr, logs := startServer(t, tt.cfg)
			req, _ := http.NewRequest("GET", "http://"+addr+tt.path, nil)
			for name, values := range tt.header {
				req.Header[name] = values
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := strings.TrimSuffix(string(body), "\n"); resp.StatusCode != http.StatusNotFound || got != tt.want {
				t.Errorf("got %d %q, want 404 %q", resp.StatusCode, got, tt.want)
			}
			waitEvent(t, logs, "http") // logged once answered
			warnings := logs.events(lostUpgrade)
			switch {
			case tt.warned == "" && len(warnings) != 0:
				t.Errorf("logged %v", warnings)
			case tt.warned != "" && (len(warnings) != 1 || warnings[0]["reason"] != tt.warned || warnings[0]["path"] != tt.path):
				t.Errorf("logged %v, want one warning with reason %q", warnings, tt.warned)
			}
		})
	}
}

func TestUncleanPathsRedirect(t *testing.T) {
	static := t.TempDir()
	proctest.WriteFile(t, filepath.Join(static, "hello.txt"), "hello\n", 0o644)
	cfg := catConfig()
	cfg.StaticDir = static
	_, addr, _ := startServer(t, cfg)
	for _, tc := range []struct {
		path     string
		status   int
		location string
	}{
		{"/sub/../hello.txt", 301, "/hello.txt"},
		{"/./hello.txt", 301, "/hello.txt"},
		{"//hello.txt", 301, "/hello.txt"},
		{"/sub/./?q=1&r=%2F", 301, "/sub/?q=1&r=%2F"},
		{"/sub/..", 301, "/"},
		{"/a//b/", 301, "/a/b/"},
		{"/../../etc/passwd", 301, "/etc/passwd"},
		{"/%2e%2e/%2E%2E/etc/passwd", 301, "/etc/passwd"},
		{"/sub%2f..%2fhello.txt", 301, "/hello.txt"},
		{"/a%3Fb/./c%20d", 301, "/a%3Fb/c%20d"},
		{"/hello.txt", 200, ""},
		{"/hello.txt?q=/../", 200, ""},
		{"/", 403, ""},
		{"/missing/", 404, ""},
	} {
		status, location := rawStatus(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		if status != tc.status || location != tc.location {
			t.Errorf("%s: %d to %q, want %d to %q", tc.path, status, location, tc.status, tc.location)
		}
	}
	// Upgrades are not redirected: a client could not follow.
	status, _ := rawStatus(t, addr, "GET //hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if status != http.StatusSwitchingProtocols {
		t.Errorf("upgrade to //hello.txt: %d, want 101", status)
	}
}

// rawStatus sends request on a new connection to addr and returns the
// status and Location of the answer.
func rawStatus(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}
