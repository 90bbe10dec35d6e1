package listen

import (
	"net"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	lns, err := TCP([]string{"127.0.0.1", "[::1]", "::1"}, 0)
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	want := []string{"127.0.0.1", "::1", "::1"}
	for i, ln := range lns {
		if host := ln.Addr().(*net.TCPAddr).IP.String(); host != want[i] {
			t.Errorf("listener %d on %s, want %s", i, host, want[i])
		}
	}
}

func TestListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if _, err := TCP([]string{"127.0.0.1"}, port); err == nil {
		t.Fatal("listening twice on one port succeeded")
	}
}

func TestCheckAddress(t *testing.T) {
	for _, a := range []string{"", "127.0.0.1", "0.0.0.0", "::1", "[::1]", "[::]", "fe80::1%eth0", "[fe80::1%eth0]",
		"localhost", "localhost.", "example.com", "my-host.example.com", "_srv.example", "host1", "1a.example"} {
		if err := CheckAddress(a); err != nil {
			t.Errorf("CheckAddress(%q): %v", a, err)
		}
	}
	for a, want := range map[string]string{
		"999.1.1.1":             "not an IP address",
		"1.2.3":                 "not an IP address",
		"256.0.0.1":             "not an IP address",
		"8080":                  "not an IP address",
		"example.123":           "not an IP address",
		"[localhost]":           "not an IP address in brackets",
		"[::1":                  "not an IP address in brackets",
		"my host":               "neither an IP address nor a host name",
		"-host":                 "neither an IP address nor a host name",
		"host..example":         "neither an IP address nor a host name",
		"127.0.0.1:8080":        "neither an IP address nor a host name",
		"http://example.com":    "neither an IP address nor a host name",
		strings.Repeat("a", 64): "neither an IP address nor a host name",
	} {
		if err := CheckAddress(a); err == nil || err.Error() != want {
			t.Errorf("CheckAddress(%q): %v, want %q", a, err, want)
		}
	}
}
