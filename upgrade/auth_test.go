//go:build unix

package upgrade

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsbridge/process"
	"wsbridge/process/proctest"
)

// sessionEnv dials url with header from the local address local ("" for
// any) and returns the environment the session's `env` prints, or the
// status of a refused upgrade.
func sessionEnv(t *testing.T, url, local string, header http.Header) (map[string]string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dialer := &net.Dialer{}
	if local != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}},
		HTTPHeader: header,
	})
	if err != nil {
		if resp == nil {
			t.Fatal(err)
		}
		return nil, resp.StatusCode
	}
	defer c.CloseNow()
	env := map[string]string{}
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return env, http.StatusSwitchingProtocols
		}
		name, value, _ := strings.Cut(string(msg), "=")
		env[name] = value
	}
}

// basic returns the header of Basic credentials.
func basic(user, password string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, password)
	return r.Header
}

// getWith gets url with header and returns the answer's status, the
// WWW-Authenticate header and the body.
func getWith(t *testing.T, url string, header http.Header) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)
}

func TestBasicAuthServer(t *testing.T) {
	cgiDir := t.TempDir()
	proctest.WriteFile(t, filepath.Join(cgiDir, "env.sh"), "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv\n", 0o755)
	srv, addr, logs := startServer(t, Config{
		Process:       process.Config{Path: "/usr/bin/env"},
		CGIDir:        cgiDir,
		BasicAuthFile: htpasswdFile(t, "", "ann", "ann's secret"),
	})
	const challenge = `Basic realm="wsbridge", charset="UTF-8"`

	// Upgrades, each from an address of its own: wrong credentials
	// put their address in the penalty box.
	for i, tc := range []struct {
		name   string
		header http.Header
		reason string
	}{
		{"no credentials", nil, "no credentials"},
		{"wrong password", basic("ann", "guess"), "wrong password"},
		{"unknown user", basic("zed", "ann's secret"), "unknown user"},
		{"not Basic", http.Header{"Authorization": {"Bearer ann's secret"}}, "no credentials"},
	} {
		if _, status := sessionEnv(t, "ws://"+addr+"/", fmt.Sprintf("127.0.0.%d", i+2), tc.header); status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, status)
		}
	}
	env, status := sessionEnv(t, "ws://"+addr+"/", "", basic("ann", "ann's secret"))
	if status != http.StatusSwitchingProtocols || env["REMOTE_USER"] != "ann" || env["AUTH_TYPE"] != "Basic" {
		t.Errorf("session: status %d, REMOTE_USER=%q AUTH_TYPE=%q", status, env["REMOTE_USER"], env["AUTH_TYPE"])
	}
	if v, ok := env["HTTP_AUTHORIZATION"]; ok {
		t.Errorf("the program sees the credentials: HTTP_AUTHORIZATION=%q", v)
	}
	refused := logs.events("refused")
	if len(refused) != 4 || refused[0]["status"] != float64(401) || refused[0]["reason"] != "no credentials" ||
		refused[1]["user"] != "ann" || refused[1]["reason"] != "wrong password" || refused[2]["user"] != "zed" {
		t.Errorf("refused events %v", refused)
	}
	if ev := waitEvent(t, logs, "connected"); ev["user"] != "ann" {
		t.Errorf("connected event %v", ev)
	}
	if n := testutil.ToFloat64(srv.metrics.refusals.WithLabelValues(refusedAuth)); n != 4 {
		t.Errorf("%v upgrades refused for auth, want 4", n)
	}
	for reason, want := range map[string]float64{authNoCredentials: 2, authBadPassword: 1, authUnknownUser: 1} {
		if n := testutil.ToFloat64(srv.metrics.auth.WithLabelValues(reason)); n != want {
			t.Errorf("%v refusals for %s, want %v", n, reason, want)
		}
	}

	// Plain HTTP: CGI, and what would be a 404, are behind the same door.
	status, _, body := getWith(t, "http://"+addr+"/env.sh", basic("ann", "ann's secret"))
	lines := strings.Split(body, "\n")
	if status != http.StatusOK || !slices.Contains(lines, "REMOTE_USER=ann") || !slices.Contains(lines, "AUTH_TYPE=Basic") {
		t.Errorf("CGI: %d %q", status, body)
	}
	if strings.Contains(body, "HTTP_AUTHORIZATION") {
		t.Errorf("the CGI program sees the credentials: %q", body)
	}
	for _, path := range []string{"/env.sh", "/nothing/here"} {
		for _, h := range []http.Header{nil, basic("ann", "guess")} {
			if status, www, body := getWith(t, "http://"+addr+path, h); status != http.StatusUnauthorized || www != challenge || strings.Contains(body, "PATH") {
				t.Errorf("%s with %v: %d, WWW-Authenticate %q, body %q", path, h, status, www, body)
			}
		}
	}
	var users []any
	for _, ev := range logs.events("http") {
		users = append(users, ev["user"])
	}
	if !slices.Contains(users, any("ann")) {
		t.Errorf("no http event names ann: %v", users)
	}

	// Wrong credentials are logged with the user, never the password.
	if evs := logs.events("refused credentials"); len(evs) != 4 || evs[0]["user"] != "ann" || evs[0]["reason"] != "wrong password" {
		t.Errorf("refused credentials events %v", evs)
	}
	logs.mu.Lock()
	all := logs.buf.String()
	logs.mu.Unlock()
	if strings.Contains(all, "secret") || strings.Contains(all, "guess") {
		t.Errorf("a password is in the logs:\n%s", all)
	}
}

func TestAuthHeaderServer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		basicAuth bool
		local     string // the client's address
		header    http.Header
		status    int
		user      string
		authType  string
	}{
		{"trusted peer", false, "127.0.0.1", http.Header{"X-Remote-User": {"ann"}}, 101, "ann", "Proxy"},
		{"control characters", false, "127.0.0.1", http.Header{"X-Remote-User": {"ann\tadmin"}}, 101, "ann admin", "Proxy"},
		{"untrusted peer", false, "127.0.0.2", http.Header{"X-Remote-User": {"ann"}}, 101, "", ""},
		{"trusted peer, no header", false, "127.0.0.1", nil, 101, "", ""},
		{"with basic auth, trusted peer", true, "127.0.0.1", http.Header{"X-Remote-User": {"ann"}}, 101, "ann", "Proxy"},
		{"with basic auth, untrusted peer", true, "127.0.0.2", http.Header{"X-Remote-User": {"ann"}}, 401, "", ""},
		{"with basic auth, untrusted peer, credentials", true, "127.0.0.2", basic("bob", "bob's secret"), 101, "bob", "Basic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				Process:        process.Config{Path: "/usr/bin/env"},
				TrustedProxies: []string{"127.0.0.1"},
				AuthHeader:     "X-Remote-User",
			}
			if tc.basicAuth {
				cfg.BasicAuthFile = htpasswdFile(t, "", "bob", "bob's secret")
			}
			_, addr, _ := startServer(t, cfg)
			env, status := sessionEnv(t, "ws://"+addr+"/", tc.local, tc.header)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if status == 101 && (env["REMOTE_USER"] != tc.user || env["AUTH_TYPE"] != tc.authType) {
				t.Errorf("REMOTE_USER=%q AUTH_TYPE=%q, want %q and %q", env["REMOTE_USER"], env["AUTH_TYPE"], tc.user, tc.authType)
			}
			if v, ok := env["HTTP_X_REMOTE_USER"]; ok && tc.local != "127.0.0.1" {
				t.Errorf("an untrusted peer's header reached the program: HTTP_X_REMOTE_USER=%q", v)
			}
		})
	}
}
