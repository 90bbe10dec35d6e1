package process

import (
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// openPair opens a new pseudo-terminal. Its master stays in blocking
// mode here.
func openPair() (master, slave *os.File, err error) { return pty.Open() }
