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
