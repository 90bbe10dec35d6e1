package main_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/bcrypt"

	wsbridge "wsbridge"

	"wsbridge/bridge/wstest"
)

// writeHtpasswd writes an htpasswd file with a user for each pair of
// names and passwords, hashed with bcrypt at its lowest cost.
func writeHtpasswd(t *testing.T, file string, userPasswords ...string) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(userPasswords); i += 2 {
		h, err := bcrypt.GenerateFromPassword([]byte(userPasswords[i+1]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:$2y$%s\n", userPasswords[i], h[4:])
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dialAs dials the server at path with header, from the local address
// local ("" for any), and returns the connection or the status of the
// refusal and its WWW-Authenticate header.
func dialAs(t *testing.T, url, local string, header http.Header) (*websocket.Conn, int, string) {
	t.Helper()
	dialer := &net.Dialer{}
	if local != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, resp, err := websocket.Dial(wstest.Context(t), url, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}},
		HTTPHeader: header,
	})
	if err != nil {
		if resp == nil {
			t.Fatal(err)
		}
		return nil, resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols, ""
}

// basicAuth returns the header of Basic credentials.
func basicAuth(user, password string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, password)
	return r.Header
}

const challenge = `Basic realm="wsbridge", charset="UTF-8"`

func TestBasicAuth(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	writeHtpasswd(t, users, "ann", "ann's secret")
	cgi := filepath.Join(dir, "cgi")
	os.Mkdir(cgi, 0o755)
	os.WriteFile(filepath.Join(cgi, "who.sh"), []byte("#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_USER/$AUTH_TYPE\"\n"), 0o755)
	s := startServer(t, "--basic-auth-file="+users, "--cgidir="+cgi, "sh", "-c", `echo "$REMOTE_USER/$AUTH_TYPE/$HTTP_AUTHORIZATION"`)
	url := "ws://" + s.addr + "/"

	// Each from an address of its own: wrong credentials keep the
	// next ones from their address out for a while.
	for _, tc := range []struct {
		name   string
		local  string
		header http.Header
	}{
		{"no credentials", "127.0.0.2", nil},
		{"wrong password", "127.0.0.3", basicAuth("ann", "guess")},
		{"unknown user", "127.0.0.4", basicAuth("bob", "bob's secret")},
	} {
		if _, status, www := dialAs(t, url, tc.local, tc.header); status != http.StatusUnauthorized || www != challenge {
			t.Errorf("%s: %d, WWW-Authenticate %q; want 401 and %q", tc.name, status, www, challenge)
		}
	}
	c, _, _ := dialAs(t, url, "", basicAuth("ann", "ann's secret"))
	wstest.Expect(t, c, websocket.MessageText, "ann/Basic/")
	wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")

	// A user added while wsbridge runs can log in.
	writeHtpasswd(t, users, "ann", "ann's secret", "bob", "bob's secret")
	c, status, _ := dialAs(t, url, "", basicAuth("bob", "bob's secret"))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("added user: %d", status)
	}
	wstest.Expect(t, c, websocket.MessageText, "bob/Basic/")

	// CGI is behind the same door.
	for _, tc := range []struct {
		header http.Header
		status int
		body   string
	}{
		{nil, http.StatusUnauthorized, "401 unauthorized\n"},
		{basicAuth("ann", "ann's secret"), http.StatusOK, "ann/Basic\n"},
		{basicAuth("ann", "guess"), http.StatusUnauthorized, "401 unauthorized\n"},
	} {
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/who.sh", nil)
		req.Header = tc.header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 100)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(body[:n]) != tc.body {
			t.Errorf("CGI with %v: %d %q, want %d %q", tc.header, resp.StatusCode, body[:n], tc.status, tc.body)
		}
	}

	ev := s.event("refused credentials")
	if ev["user"] != "ann" || ev["reason"] != "wrong password" || ev["level"] != "warn" {
		t.Errorf("refused credentials event %v", ev)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.logs {
		if ev["message"] == "refused" && ev["status"] != float64(http.StatusUnauthorized) {
			t.Errorf("refused event %v", ev)
		}
		if strings.Contains(fmt.Sprint(ev), "secret") || strings.Contains(fmt.Sprint(ev), "guess") {
			t.Errorf("a password is in the log: %v", ev)
		}
	}
}

func TestBadBasicAuthFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users")
	writeHtpasswd(t, file, "ann", "ann's secret")
	old, _ := os.ReadFile(file)
	for _, tc := range []struct{ line, want string }{
		{"bob:$apr1$x4b3x6fS$OqOmZ7Z1XnOf9DuMdyXTJ0", `:2: user "bob": not a bcrypt hash`},
		{"bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", `:2: user "bob": not a bcrypt hash`},
		{"bob", ":2: want user:hash"},
	} {
		os.WriteFile(file, append(old, tc.line+"\n"...), 0o600)
		code, _, stderr := runBinary(t, "", nil, "--basic-auth-file="+file, "cat")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != wsbridge.ExitBadArguments || len(lines) != 1 || !strings.Contains(lines[0], "--basic-auth-file: "+file+tc.want) {
			t.Errorf("%q: exit %d, stderr %q", tc.line, code, stderr)
		}
	}
}

func TestAuthHeader(t *testing.T) {
	s := startServer(t, "--trusted-proxy=127.0.0.1", "--auth-header=X-Remote-User", "sh", "-c", `echo "$REMOTE_USER/$AUTH_TYPE/$HTTP_X_REMOTE_USER"`)
	url := "ws://" + s.addr + "/"
	for _, tc := range []struct {
		local string
		want  string
	}{
		{"127.0.0.1", "ann/Proxy/ann"}, // a trusted proxy
		{"127.0.0.2", "//"},            // anyone else
	} {
		c, _, _ := dialAs(t, url, tc.local, http.Header{"X-Remote-User": {"ann"}})
		wstest.Expect(t, c, websocket.MessageText, tc.want)
	}
}

func TestMaxPerIP(t *testing.T) {
	s := startServer(t, "--max-per-ip=2", "--metrics-address=127.0.0.1:0", "cat")
	url := "ws://" + s.addr + "/"
	c1, _, _ := dialAs(t, url, "127.0.0.1", nil)
	dialAs(t, url, "127.0.0.1", nil)
	if _, status, _ := dialAs(t, url, "127.0.0.1", nil); status != http.StatusTooManyRequests {
		t.Fatalf("a third session from the address: %d, want 429", status)
	}
	// Another address has its own count.
	c, _, _ := dialAs(t, url, "127.0.0.2", nil)
	wstest.Send(t, c, websocket.MessageText, "hi")
	wstest.Expect(t, c, websocket.MessageText, "hi")
	if ev := s.event("refused"); ev["status"] != float64(429) || !strings.Contains(ev["reason"].(string), "--max-per-ip") {
		t.Errorf("refused event %v", ev)
	}
	if !metricLines(t, s.event("serving metrics")["address"].(string))[`wsbridge_upgrade_refusals_total{reason="maxperip"} 1`] {
		t.Error("the refusal is not counted as maxperip")
	}
	// One ended, a new one is let in.
	c1.Close(websocket.StatusNormalClosure, "")
	s.event("disconnected")
	c3, status, _ := dialAs(t, url, "127.0.0.1", nil)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("after one closed: %d", status)
	}
	wstest.Send(t, c3, websocket.MessageText, "again")
	wstest.Expect(t, c3, websocket.MessageText, "again")
}

func TestMaxRate(t *testing.T) {
	// At 20 messages a second in bursts of 20, 60 messages take 2 s at
	// least; they all arrive, in order.
	const rate, n = 20, 60
	s := startServer(t, "--max-rate="+strconv.Itoa(rate), "cat")
	c := s.dial("/")
	start := time.Now()
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			if err := c.Write(context.Background(), websocket.MessageText, []byte(strconv.Itoa(i))); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := range n {
		wstest.Expect(t, c, websocket.MessageText, strconv.Itoa(i))
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if elapsed, least := time.Since(start), time.Duration(n-rate)*time.Second/rate; elapsed < least {
		t.Errorf("%d messages at %d a second arrived in %v, less than %v", n, rate, elapsed, least)
	}
	c.Close(websocket.StatusNormalClosure, "")
	if ev := s.event("disconnected"); ev["messages_in"] != float64(n) {
		t.Errorf("disconnected event %v", ev)
	}
}

func TestMaxPerIPReconnectAtOnce(t *testing.T) {
	// A session whose program exits is counted out before its client
	// gets the close frame: the client can start the next one at once.
	s := startServer(t, "--max-per-ip=1", "echo", "hi")
	for i := range 20 {
		c, status, _ := dialAs(t, "ws://"+s.addr+"/", "", nil)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("session %d: %d", i, status)
		}
		wstest.Expect(t, c, websocket.MessageText, "hi")
		wstest.ExpectClose(t, c, websocket.StatusNormalClosure, "")
	}
}
