//go:build !linux && !darwin

package process

import (
	"errors"
	"os"
)

// ptySupported is false here: the child's stdout is always a pipe.
const ptySupported = false

func openPTY() (master, slave *os.File, err error) {
	return nil, nil, errors.New("pseudo-terminals are not supported on this platform")
}

func isPTYClosed(error) bool { return false }
