package upgrade

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestChildEnv(t *testing.T) {
	r := httptest.NewRequest("GET", "/chat/room?name=a%20b", nil)
	r.RemoteAddr = "192.0.2.7:51234"
	r.Host = "example.com:8080"
	r.Header.Set("Origin", "http://example.com")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Set("X-Evil", "a\nPATH=/tmp\x00b\r")
	env := childEnv(r, []string{"PATH=/usr/bin"}, envInfo{
		ScriptName: "/chat",
		PathInfo:   "/room",
		UniqueID:   "0123456789abcdef",
		Software:   "wsbridge/1.0",
		Protocol:   "chat.v2",
		RemoteUser: "ann\nPATH=/tmp",
		AuthType:   "Basic",
	})
	want := []string{
		"PATH=/usr/bin",
		"SERVER_SOFTWARE=wsbridge/1.0",
		"REMOTE_ADDR=192.0.2.7",
		"REMOTE_HOST=192.0.2.7",
		"REMOTE_PORT=51234",
		"SERVER_NAME=example.com",
		"SERVER_PORT=8080",
		"SERVER_PROTOCOL=HTTP/1.1",
		"GATEWAY_INTERFACE=CGI/1.1",
		"REQUEST_METHOD=GET",
		"SCRIPT_NAME=/chat",
		"PATH_INFO=/room",
		"PATH_TRANSLATED=",
		"QUERY_STRING=name=a%20b",
		"REQUEST_URI=/chat/room?name=a%20b",
		"UNIQUE_ID=0123456789abcdef",
		"AUTH_TYPE=Basic",
		"CONTENT_LENGTH=",
		"CONTENT_TYPE=",
		"REMOTE_IDENT=",
		"REMOTE_USER=ann PATH=/tmp",
		"WEBSOCKET_PROTOCOL=chat.v2",
		"HTTP_HOST=example.com:8080",
		"HTTP_ORIGIN=http://example.com",
		"HTTP_X_MULTI=one, two",
		"HTTP_X_EVIL=a PATH=/tmp b ",
	}
	for _, w := range want {
		if !slices.Contains(env, w) {
			t.Errorf("missing %q", w)
		}
	}
	if len(env) != len(want) {
		t.Errorf("%d variables, want %d: %q", len(env), len(want), env)
	}
	for _, v := range env {
		if strings.HasPrefix(v, "HTTPS=") {
			t.Errorf("%s without TLS", v)
		}
	}
}

func TestChildEnvTLSAndDefaults(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "example.com"
	if env := childEnv(r, nil, envInfo{}); !slices.Contains(env, "SERVER_PORT=80") {
		t.Errorf("plain HTTP: %q", env)
	}
	r.TLS = &tls.ConnectionState{}
	env := childEnv(r, nil, envInfo{RemoteHost: "client.example.net"})
	for _, w := range []string{"SERVER_PORT=443", "HTTPS=on", "REMOTE_HOST=client.example.net"} {
		if !slices.Contains(env, w) {
			t.Errorf("TLS: missing %q in %q", w, env)
		}
	}
}

func TestChildEnvUnixSocket(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "@"
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.UnixAddr{Name: "/run/ws.sock", Net: "unix"}))
	env := childEnv(r, nil, envInfo{})
	for _, w := range []string{"REMOTE_ADDR=unix-socket", "REMOTE_HOST=unix-socket", "REMOTE_PORT="} {
		if !slices.Contains(env, w) {
			t.Errorf("missing %q in %q", w, env)
		}
	}
}

func TestChildEnvSentTo(t *testing.T) {
	// Behind a trusted proxy, the server is what the client connected
	// to; HTTP_HOST is still the Host header.
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "127.0.0.1:8081"
	env := childEnv(withSentTo(r, origin{"https", "public.example", "443"}), nil, envInfo{})
	for _, w := range []string{"SERVER_NAME=public.example", "SERVER_PORT=443", "HTTPS=on", "HTTP_HOST=127.0.0.1:8081"} {
		if !slices.Contains(env, w) {
			t.Errorf("missing %q in %q", w, env)
		}
	}
	r.TLS = &tls.ConnectionState{}
	env = childEnv(withSentTo(r, origin{"http", "public.example", "80"}), nil, envInfo{})
	for _, v := range env {
		if strings.HasPrefix(v, "HTTPS=") {
			t.Errorf("%s for a client on plain HTTP", v)
		}
	}
}

func TestChildEnvProxyAndCookies(t *testing.T) {
	// A client's Proxy header never becomes HTTP_PROXY ("httpoxy"): the
	// one passed on from the server stays the only one. Several Cookie
	// headers are one cookie list, as RFC 6265 writes it.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Proxy", "http://evil.example:3128")
	r.Header.Add("Cookie", "a=1")
	r.Header.Add("Cookie", "b=2")
	env := childEnv(r, []string{"HTTP_PROXY=http://proxy.internal:3128"}, envInfo{})
	var proxies []string
	for _, v := range env {
		if strings.HasPrefix(v, "HTTP_PROXY=") {
			proxies = append(proxies, v)
		}
	}
	if !slices.Equal(proxies, []string{"HTTP_PROXY=http://proxy.internal:3128"}) {
		t.Errorf("HTTP_PROXY: %q", proxies)
	}
	if !slices.Contains(env, "HTTP_COOKIE=a=1; b=2") {
		t.Errorf("no HTTP_COOKIE=a=1; b=2 in %q", env)
	}
}

func TestChildEnvServerFromBadHost(t *testing.T) {
	// A Host that names no valid host and port says nothing of where
	// the request went: the listener's own address and port do.
	for host, want := range map[string][2]string{
		"evil:99999":       {"127.0.0.1", "8081"},
		"a:b:c":            {"127.0.0.1", "8081"},
		"":                 {"127.0.0.1", "8081"},
		"exa mple.com":     {"127.0.0.1", "8081"},
		"example.com:0":    {"127.0.0.1", "8081"},
		"[::1":             {"127.0.0.1", "8081"},
		"example.com:8080": {"example.com", "8080"},
		"example.com":      {"example.com", "80"},
		"[::1]:9":          {"::1", "9"},
		"10.0.0.1":         {"10.0.0.1", "80"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}))
		env := childEnv(r, nil, envInfo{})
		for _, w := range []string{"SERVER_NAME=" + want[0], "SERVER_PORT=" + want[1]} {
			if !slices.Contains(env, w) {
				t.Errorf("Host %q: no %s in %q", host, w, env)
			}
		}
		if got := serverCGIEnv(r); !slices.Equal(got, []string{"SERVER_NAME=" + want[0], "SERVER_PORT=" + want[1]}) {
			t.Errorf("Host %q: CGI %q", host, got)
		}
	}
}
