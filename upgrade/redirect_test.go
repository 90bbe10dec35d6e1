package upgrade

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRedirect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scheme string
		port   int
		host   string
		target string
		code   int
		want   string
	}{
		{"path and query", "https", 8443, "example.com:8080", "/chat/room?user=ann&x=1", 301, "https://example.com:8443/chat/room?user=ann&x=1"},
		{"encoded path", "https", 8443, "example.com:8080", "/a%20b/%2F?x=1&y=%26", 301, "https://example.com:8443/a%20b/%2F?x=1&y=%26"},
		{"unusual escapes", "https", 8443, "example.com", "/%7e/%c3%a9?q=%2b+%zz", 301, "https://example.com:8443/%7e/%c3%a9?q=%2b+%zz"},
		{"root", "https", 8443, "example.com", "/", 301, "https://example.com:8443/"},
		{"empty query", "https", 8443, "example.com", "/x?", 301, "https://example.com:8443/x"},
		{"no port in host", "https", 8443, "example.com", "/x", 301, "https://example.com:8443/x"},
		{"IPv4", "https", 8443, "127.0.0.1:8080", "/x", 301, "https://127.0.0.1:8443/x"},
		{"IPv6", "https", 8443, "[::1]:8080", "/x?y=1", 301, "https://[::1]:8443/x?y=1"},
		{"IPv6 without port", "https", 8443, "[::1]", "/x", 301, "https://[::1]:8443/x"},
		{"default https port", "https", 443, "example.com:8080", "/x?y=1", 301, "https://example.com/x?y=1"},
		{"default port IPv6", "https", 443, "[2001:db8::1]:8080", "/x", 301, "https://[2001:db8::1]/x"},
		{"default http port", "http", 80, "example.com:8080", "/x", 301, "http://example.com/x"},
		{"443 is not http's", "http", 443, "example.com", "/x", 301, "http://example.com:443/x"},
		{"double slash", "https", 8443, "example.com", "//evil.example/x", 301, "https://example.com:8443//evil.example/x"},
		{"missing host", "https", 8443, "", "/x", 400, ""},
		{"port only", "https", 8443, ":8080", "/x", 400, ""},
		{"empty brackets", "https", 8443, "[]:8080", "/x", 400, ""},
		{"host with slash", "https", 8443, "evil.example/x", "/x", 400, ""},
		{"host with userinfo", "https", 8443, "user@evil.example", "/x", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			Redirect(tc.scheme, tc.port).ServeHTTP(w, r)
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d", w.Code, tc.code)
			}
			if got := w.Header().Get("Location"); got != tc.want {
				t.Errorf("Location %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRedirectServer sends requests as a client writes them to a real
// server, so that the path and query go through net/http's own parsing.
func TestRedirectServer(t *testing.T) {
	srv := httptest.NewServer(Redirect("https", 8443))
	defer srv.Close()

	for _, tc := range []struct {
		name    string
		request string
		code    int
		want    string
	}{
		{"HTTP/1.1", "POST /a%20b/%2F?x=1&y=%26 HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 0\r\n\r\n", 301, "https://[::1]:8443/a%20b/%2F?x=1&y=%26"},
		{"absolute form", "GET http://example.com:8080/p?q HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", 301, "https://example.com:8443/p?q"},
		{"HTTP/1.0 without Host", "GET /x HTTP/1.0\r\n\r\n", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte(tc.request)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if got := resp.Header.Get("Location"); got != tc.want {
				t.Errorf("Location %q, want %q", got, tc.want)
			}
		})
	}
}
