package bridge

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestPingsSetUserTimeout(t *testing.T) {
	for _, tc := range []struct {
		every time.Duration
		want  int // TCP_USER_TIMEOUT, in milliseconds
	}{
		{0, 0},
		{30 * time.Second, 60000},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, err := ln.Accept()
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := &peer{conn: &Conn{wire: newWire(server)}}
		c.startPings(tc.every).stop()

		rc, err := server.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got int
		rc.Control(func(fd uintptr) {
			got, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
		})
		client.Close()
		server.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("pings every %v: TCP_USER_TIMEOUT %d ms, want %d", tc.every, got, tc.want)
		}
	}
}
