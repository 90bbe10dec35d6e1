//go:build unix

package upgrade

import (
	"crypto/tls"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestCGIEnvAsNetHTTPCGI(t *testing.T) {
	// Programs see the variables net/http/cgi gave them, to the letter.
	t.Setenv("LD_LIBRARY_PATH", "/server/lib")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", "env.sh"), "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n", 0o755)
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

func TestLastWins(t *testing.T) {
	got := lastWins([]string{"A=1", "B=2", "A=3", "C", "B=", "C"})
	if want := []string{"A=3", "B=", "C"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
