//go:build unix

package process

import (
	"errors"
	"syscall"
	"testing"
)

func TestExitError(t *testing.T) {
	for _, tc := range []struct {
		ws   syscall.WaitStatus
		code int
		want string
	}{
		{3 << 8, 3, "exit status 3"},
		{syscall.WaitStatus(syscall.SIGKILL), -1, "signal: killed"},
		{syscall.WaitStatus(syscall.SIGSEGV) | 0x80, -1, "signal: segmentation fault (core dumped)"},
	} {
		err := exitError(tc.ws)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != tc.code || err.Error() != tc.want {
			t.Errorf("exitError(%#x) = %#v, want code %d and %q", int(tc.ws), err, tc.code, tc.want)
		}
	}
	if err := exitError(0); err != nil {
		t.Errorf("exitError(0) = %v, want nil", err)
	}
}
