package bridge

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// setUserTimeout has the kernel drop a TCP connection on which data sent
// has gone unacknowledged for d: a client that vanished while output
// waited for it, which a ping queued behind that output cannot reach. A
// client that is there but reads slowly acknowledges the kernel's window
// probes and is kept.
func setUserTimeout(c net.Conn, d time.Duration) {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn() // under TLS
	}
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
	})
}
