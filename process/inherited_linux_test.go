package process

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Each way of marking descriptors close-on-exec marks one the process
// holds without, as if inherited, and leaves those below first alone.
func TestCloseOnExec(t *testing.T) {
	for name, mark := range map[string]func(first int) error{
		"close_range": closeOnExecFrom,
		"/proc":       closeOnExecListed,
	} {
		t.Run(name, func(t *testing.T) {
			below := inheritable(t)
			f := inheritable(t)
			if err := mark(int(f.Fd())); err != nil {
				t.Fatal(err)
			}
			if !closeOnExec(t, f) {
				t.Errorf("fd %d is not close-on-exec", f.Fd())
			}
			if below.Fd() < f.Fd() && closeOnExec(t, below) {
				t.Errorf("fd %d, below the first, was marked", below.Fd())
			}
		})
	}
}

// inheritable opens a file whose descriptor is not close-on-exec.
func inheritable(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// closeOnExec reports whether f's descriptor is close-on-exec.
func closeOnExec(t *testing.T, f *os.File) bool {
	t.Helper()
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.FD_CLOEXEC != 0
}
