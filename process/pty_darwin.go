package process

import (
	"os"

	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// pollable returns master as it is: it stays in blocking mode here.
func pollable(master *os.File) (*os.File, error) { return master, nil }
