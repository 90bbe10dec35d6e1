//go:build !windows

package listen

import (
	"errors"
	"syscall"
)

// isRefused reports whether err says that nothing listens on a socket.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
