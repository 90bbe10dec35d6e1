//go:build unix

package upgrade

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"wsbridge/process/proctest"
)

func TestCGIEnvAsNetHTTPCGI(t *testing.T) {
	// Programs see the variables net/http/cgi gave them, to the letter.
	t.Setenv("LD_LIBRARY_PATH", "/server/lib")
	dir := t.TempDir()
	proctest.WriteFile(t, filepath.Join(dir, "a", "env.sh"), "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n", 0o755)
	passed := []string{"PATH=/usr/bin:/bin", "GREETING=hello"}
	g := cgiHandler(openTestDir(t, "--cgidir", dir, false), dir, passed, nil, newGauge(), zerolog.Nop(), http.NotFoundHandler())
	for _, tc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"get", func() *http.Request {
			return httptest.NewRequest("GET", "/a/env.sh", nil)
		}},
		{"post", func() *http.Request {
			r := httptest.NewRequest("POST", "http://example.com:8081/a/env.sh/x%20y//z/?q=1&r=%2F", strings.NewReader("a=1"))
			r.RemoteAddr = "[2001:db8::1]:4000"
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header["Cookie"] = []string{"a=1", "b=2"}
			r.Header["X-Many"] = []string{"one", "two"}
			r.Header.Set("Proxy", "http://evil.example")
			return r
		}},
		{"tls", func() *http.Request {
			r := httptest.NewRequest("GET", "https://example.com/a/env.sh/", nil)
			r.TLS = &tls.ConnectionState{}
			r.RemoteAddr = "unix-socket"
			return r
		}},
		{"forwarded", func() *http.Request {
			r := httptest.NewRequest("GET", "/a/env.sh", nil)
			r.TLS = &tls.ConnectionState{}
			return withSentTo(r, origin{"http", "public.example", "80"})
		}},
	} {
		r := tc.req()
		want := httptest.NewRecorder()
		(&cgi.Handler{
			Path: filepath.Join(dir, "a", "env.sh"),
			Root: "/a/env.sh",
			Dir:  filepath.Join(dir, "a"),
			Env:  append(g.env[:len(g.env):len(g.env)], serverCGIEnv(r)...),
		}).ServeHTTP(want, tc.req())
		got := httptest.NewRecorder()
		g.ServeHTTP(got, r)
		wantEnv, gotEnv := strings.Split(want.Body.String(), "\n"), strings.Split(got.Body.String(), "\n")
		slices.Sort(wantEnv)
		slices.Sort(gotEnv)
		if got.Code != want.Code || !slices.Equal(gotEnv, wantEnv) {
			t.Errorf("%s: %d\n%s\nwant %d\n%s", tc.name, got.Code, strings.Join(gotEnv, "\n"), want.Code, strings.Join(wantEnv, "\n"))
		}
	}
}

func TestServerCGIEnv(t *testing.T) {
	// What net/http/cgi derives from the request itself gives way to
	// what the client saw.
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho \"$SERVER_NAME $SERVER_PORT ${HTTPS-unset}\"\n"
	proctest.WriteFile(t, filepath.Join(dir, "where.cgi"), script, 0o755)
	h := cgiHandler(openTestDir(t, "--cgidir", dir, false), dir, nil, nil, newGauge(), zerolog.Nop(), http.NotFoundHandler())
	for _, tt := range []struct {
		name string
		host string
		tls  bool
		to   *origin
		want string
	}{
		{"own", "127.0.0.1:8081", false, nil, "127.0.0.1 8081 unset"},
		{"own TLS", "127.0.0.1:8081", true, nil, "127.0.0.1 8081 on"},
		{"bad Host", "evil:99999", false, nil, "192.0.2.1 8443 unset"},
		{"https client", "127.0.0.1:8081", false, &origin{"https", "public.example", "443"}, "public.example 443 on"},
		{"http client over TLS", "127.0.0.1:8081", true, &origin{"http", "public.example", "80"}, "public.example 80 "},
	} {
		r := httptest.NewRequest("GET", "/where.cgi", nil)
		r.Host = tt.host
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8443}))
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tt.to != nil {
			r = withSentTo(r, *tt.to)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := strings.TrimSuffix(w.Body.String(), "\n"); w.Code != 200 || got != tt.want {
			t.Errorf("%s: %d %q, want %q", tt.name, w.Code, got, tt.want)
		}
	}
}

func TestLastWins(t *testing.T) {
	got := lastWins([]string{"A=1", "B=2", "A=3", "C", "B=", "C"})
	if want := []string{"A=3", "B=", "C"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
