package process

import (
	"io"
	"os"
	"syscall"
	"testing"
)

func TestDescriptorsPerChild(t *testing.T) {
	// What waits for the exits of all children holds one descriptor
	// whatever their number.
	exits.once.Do(exits.start)
	before := openFiles(t)
	p := startHelper(t, Config{PTY: true}, "cat")
	// stdin, stdout, stderr and the pidfd the child is waited through.
	if n := openFiles(t) - before; n != 4 {
		t.Errorf("a running child holds %d descriptors, want 4", n)
	}
	p.Stdin().Close()
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	io.Copy(io.Discard, p.Stdout())
	io.Copy(io.Discard, p.Stderr())
	p.Stop()
	if n := openFiles(t) - before; n != 0 {
		t.Errorf("a finished child holds %d descriptors, want 0", n)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

func TestExitError(t *testing.T) {
	for _, tc := range []struct {
		ws   syscall.WaitStatus
		want string
	}{
		{0, ""},
		{3 << 8, "exit status 3"},
		{syscall.WaitStatus(syscall.SIGKILL), "signal: killed"},
		{syscall.WaitStatus(syscall.SIGSEGV) | 0x80, "signal: segmentation fault (core dumped)"},
	} {
		err := exitError(tc.ws)
		if got := errText(err); got != tc.want {
			t.Errorf("exitError(%#x) = %q, want %q", int(tc.ws), got, tc.want)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
