package upgrade

import (
	"crypto/tls"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestEnv(t *testing.T) {
	r := httptest.NewRequest("GET", "/chat/room?name=a%20b", nil)
	r.RemoteAddr = "192.0.2.7:51234"
	r.Host = "example.com:8080"
	r.Header.Set("Origin", "http://example.com")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Set("X-Evil", "a\nPATH=/tmp\x00b\r")
	env := Env(r, []string{"PATH=/usr/bin"})
	for _, want := range []string{
		"PATH=/usr/bin",
		"REMOTE_ADDR=192.0.2.7",
		"REMOTE_PORT=51234",
		"SERVER_NAME=example.com",
		"SERVER_PORT=8080",
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/chat/room?name=a%20b",
		"QUERY_STRING=name=a%20b",
		"SCRIPT_NAME=/",
		"PATH_INFO=/chat/room",
		"HTTP_HOST=example.com:8080",
		"HTTP_ORIGIN=http://example.com",
		"HTTP_X_MULTI=one, two",
		"HTTP_X_EVIL=a PATH=/tmp b ",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("missing %q in %q", want, env)
		}
	}
	if n := len(slices.DeleteFunc(env, func(v string) bool { return v[:5] != "PATH=" })); n != 1 {
		t.Errorf("%d PATH variables", n)
	}
}

func TestEnvDefaultPort(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "example.com"
	if env := Env(r, nil); !slices.Contains(env, "SERVER_PORT=80") {
		t.Errorf("plain HTTP: %q", env)
	}
	r.TLS = &tls.ConnectionState{}
	if env := Env(r, nil); !slices.Contains(env, "SERVER_PORT=443") {
		t.Errorf("TLS: %q", env)
	}
}
