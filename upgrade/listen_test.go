package upgrade

import (
	"net"
	"testing"
)

func TestListen(t *testing.T) {
	lns, err := Listen([]string{"127.0.0.1", "[::1]", "::1"}, 0)
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
	if _, err := Listen([]string{"127.0.0.1"}, port); err == nil {
		t.Fatal("listening twice on one port succeeded")
	}
}
