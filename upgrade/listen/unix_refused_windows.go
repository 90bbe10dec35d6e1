package listen

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// isRefused reports whether err says that nothing listens on a socket.
func isRefused(err error) bool {
	return errors.Is(err, windows.WSAECONNREFUSED) || errors.Is(err, syscall.ECONNREFUSED)
}
