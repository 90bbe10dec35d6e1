//go:build !linux

package bridge

import (
	"net"
	"time"
)

// setUserTimeout does nothing where TCP_USER_TIMEOUT is not to be had: a
// client that vanished while output waited for it is dropped when the
// system gives up sending to it.
func setUserTimeout(net.Conn, time.Duration) {}
