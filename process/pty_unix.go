//go:build linux || darwin

package process

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

const ptySupported = true

// openPTY opens a pseudo-terminal in raw mode and returns its master, which
// the parent reads, and its slave, which becomes the child's stdout.
func openPTY() (master, slave *os.File, err error) {
	master, slave, err = openPair()
	if err != nil {
		return nil, nil, err
	}
	if err := makeRaw(int(slave.Fd())); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// makeRaw turns off everything a terminal does to the bytes written to it
// (no "\n" → "\r\n", no echo, no line editing), as cfmakeraw does.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}

// isPTYClosed reports whether err is what reading a pseudo-terminal master
// returns once every holder of the slave side has closed it.
func isPTYClosed(err error) bool {
	return errors.Is(err, syscall.EIO)
}
